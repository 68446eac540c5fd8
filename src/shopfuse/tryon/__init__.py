"""Virtual try-on of jewellery and accessories (issue 19): where it goes on a photo, and the overlay."""
