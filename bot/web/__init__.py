"""The website side: the demo shop page with the chat widget, and its config."""
