"""Microsoft Teams: vendor chats and channels through Microsoft Graph's Teams export APIs.

- :mod:`connectors.teams.live`: the live, incremental read (``extract_teams``), imported only when configured;
- :mod:`connectors.teams.files`: saved export answers, JSON files (``read_teams_files``);
- :mod:`connectors.teams.parse`: one Graph chatMessage as a record, for both.
"""

from .files import read_teams_files

__all__ = ["read_teams_files"]
