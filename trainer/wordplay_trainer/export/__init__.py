"""The model out of a run: ONNX for completion, a Hugging Face folder, a GGUF file."""
