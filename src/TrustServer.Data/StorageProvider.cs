namespace TrustServer.Data;

/// <summary>
/// The database engine behind the metadata store and the key store (configuration key <c>Storage:Provider</c>,
/// DESIGN.md §6).
/// </summary>
public enum StorageProvider
{
    /// <summary>An SQLite database file via Microsoft.Data.Sqlite: the embedded default (<c>Data Source=data/trustserver.db</c>, the signer's <c>data/signer.db</c>).</summary>
    Sqlite,

    /// <summary>PostgreSQL through Npgsql: production, several replicas on one database (the key store: notary-signer's schema).</summary>
    Postgres,
}

/// <summary>A database: its engine and connection string.</summary>
/// <param name="Provider">The engine (<c>Storage:Provider</c>).</param>
/// <param name="ConnectionString">The connection string (<c>ConnectionStrings:*</c>).</param>
public sealed record StorageDatabase(StorageProvider Provider, string ConnectionString);
