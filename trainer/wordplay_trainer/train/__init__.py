"""The train stage: the config, the model, its optimizer, the loop and its checkpoints."""
