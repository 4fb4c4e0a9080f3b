"""Step 9, inside the network: one tab module per view, the page that feeds them."""
