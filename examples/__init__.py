"""Code submissions as teams write them (see the README's code-zip section)."""
