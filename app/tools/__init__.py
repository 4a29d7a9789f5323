"""Tools for the model: MCP servers from mcp.json, their client, and the approval policy (no Qt here)."""
