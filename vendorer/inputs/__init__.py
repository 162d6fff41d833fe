"""What the user gives: requirements files, [tool.vendorer] settings, options."""
