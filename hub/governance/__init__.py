"""Data-sharing governance: consumers, the sharing policy and masking, the audit chain and its checkpoints."""
