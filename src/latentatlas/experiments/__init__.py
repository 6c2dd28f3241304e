"""Named jobs and reproductions of published results, each with a quick mode."""
