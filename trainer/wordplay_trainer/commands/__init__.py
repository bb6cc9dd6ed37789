"""`python -m wordplay_trainer <command>`: one module per command, its options and main()."""
