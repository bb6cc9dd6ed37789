"""wordplay's training engine. Run it as `python -m wordplay_trainer <command>`."""
