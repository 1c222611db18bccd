"""The Rasa process's side of the trust boundary: guarded input channels and the launcher
that keeps Rasa's API token off the command line. Not part of the trained model."""
