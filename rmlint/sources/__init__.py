"""Readers for the inputs rmlint understands; each turns bytes into data plus key locations."""
