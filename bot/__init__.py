"""The product as people meet it: the web app that assembles every router, and the CLI.
(The Rasa project and custom actions arrive with the conversation issue.)"""
