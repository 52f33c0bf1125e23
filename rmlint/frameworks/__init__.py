"""Frameworks whose launches rmlint reads from shell commands into facts (verl, DeepSpeed-Chat); launches.py
asks each for the commands it claims."""
