"""The sandbox's HTTP views, one module per reference page."""
