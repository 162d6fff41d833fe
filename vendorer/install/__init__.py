"""Vendoring: wheels unpacked into the app's lib folder, with a manifest."""
