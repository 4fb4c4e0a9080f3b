"""Step 1, your images: the page (``page``) and its class bar chart."""
