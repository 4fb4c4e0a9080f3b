"""Step 8, inside the network: one tab module per view, the page that feeds them."""
