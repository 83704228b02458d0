"""What several test modules share: builders of notebooks and exercises, graded classes and their checks, hostile
payloads, the report's gradebook, a browser, a Slurm cluster and nbgrader courses.  No test module imports
another; they import from here."""
