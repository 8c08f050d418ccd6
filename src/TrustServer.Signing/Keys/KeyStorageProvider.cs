namespace TrustServer.Signing.Keys;

/// <summary>The database engine of the key store (configuration value <c>Storage:Provider</c>, DESIGN.md §6).</summary>
public enum KeyStorageProvider
{
    /// <summary>SQLite via Microsoft.Data.Sqlite (embedded default, <c>Data Source=data/signer.db</c>).</summary>
    Sqlite,

    /// <summary>PostgreSQL via Npgsql (production; notary-signer's schema).</summary>
    Postgres,
}
