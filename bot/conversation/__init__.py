"""The conversation room: Rasa project and actions, assistant, language, Rasa runtime."""
