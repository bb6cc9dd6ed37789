"""What every stage uses: errors, the shared data files, the machine, file writing, names."""
