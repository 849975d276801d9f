"""science & technology: research projects, technology-transfer results, innovation platforms."""
