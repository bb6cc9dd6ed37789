"""The prepare stage's Python half: the dataset folder read, the BPE trained, a char dataset written."""
