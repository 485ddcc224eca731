"""What people read.

Comparison pages, the dataset explorer, HTML building blocks, Altair charts and matplotlib
figures.
"""
