"""commerce: industries (GB/T 4754), enterprises, industrial parks, major investment projects."""
