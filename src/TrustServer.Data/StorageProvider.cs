namespace TrustServer.Data;

/// <summary>The database behind the metadata store (configuration key <c>Storage:Provider</c>, DESIGN.md §6).</summary>
public enum StorageProvider
{
    /// <summary>An SQLite database file: the embedded default (<c>Data Source=data/trustserver.db</c>).</summary>
    Sqlite,

    /// <summary>PostgreSQL through Npgsql: production, several replicas on one database.</summary>
    Postgres,
}
