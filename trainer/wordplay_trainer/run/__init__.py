"""The run folder: its layout and its events.jsonl."""
