"""The tap-owned scheduler: streams fetched ahead of their turn and the children of upcoming parents, under
one byte budget."""
