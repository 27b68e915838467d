"""The complete export of a workspace, and its import into a fresh one.

``tables`` says what the archive holds (every table a workspace owns, its
references and its files), ``build`` writes the zip, ``restore`` checks one
and loads it with new ids, ``services`` holds the write actions the pages and
the tasks call. docs/design.md ("Complete export") describes the format.
"""
