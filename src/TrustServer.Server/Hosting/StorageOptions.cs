namespace TrustServer.Server.Hosting;

/// <summary>Where metadata is stored (<c>Storage</c> section; the connection string is <c>ConnectionStrings:Metadata</c>).</summary>
public sealed class StorageOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Storage";

    /// <summary><c>Sqlite</c> (embedded default) or <c>Postgres</c>.</summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>Apply pending migrations at start (the <c>migrate</c> command does it explicitly).</summary>
    public bool MigrateOnStartup { get; set; } = true;
}
