using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.Extensions.Logging;
using Npgsql;
using TrustServer.Data;

namespace TrustServer.Signing.Keys;

/// <summary>
/// Creates provider-specific <see cref="KeyDbContext"/> instances for one connection string; each provider's context
/// configures itself (<c>Configure</c>), as the metadata contexts do.
/// </summary>
internal sealed class KeyDbContextFactory
{
    private readonly DbContextOptions _options;

    /// <summary>Options for contexts of <paramref name="provider"/> on <paramref name="connectionString"/>.</summary>
    /// <param name="provider">The database provider.</param>
    /// <param name="connectionString">The key database.</param>
    /// <param name="compiledModel">Whether contexts use the compiled model (false at design time: built from code).</param>
    public KeyDbContextFactory(StorageProvider provider, string connectionString, bool compiledModel = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        Provider = provider;
        ConnectionString = connectionString;
        _options = provider switch
        {
            StorageProvider.Postgres => Options<PostgresKeyDbContext>(b => PostgresKeyDbContext.Configure(b, connectionString, compiledModel)),
            StorageProvider.Sqlite => Options<SqliteKeyDbContext>(b => SqliteKeyDbContext.Configure(b, connectionString, compiledModel)),
            _ => throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown storage provider."),
        };
    }

    public StorageProvider Provider { get; }

    public string ConnectionString { get; }

    public KeyDbContext Create() => Provider switch
    {
        StorageProvider.Postgres => new PostgresKeyDbContext((DbContextOptions<PostgresKeyDbContext>)_options),
        _ => new SqliteKeyDbContext((DbContextOptions<SqliteKeyDbContext>)_options),
    };

    private static DbContextOptions<TContext> Options<TContext>(Action<DbContextOptionsBuilder> configure)
        where TContext : KeyDbContext
    {
        var builder = new DbContextOptionsBuilder<TContext>();
        configure(builder);
        return builder.Options;
    }

    /// <summary>
    /// Drops this database's idle pooled PostgreSQL connections: when one has died (server restart, network cut) the
    /// others most likely have too, and a dead one Npgsql cannot yet see as closed would fail the retry as well.
    /// </summary>
    public void ClearPool()
    {
        if (Provider == StorageProvider.Postgres)
        {
            using var connection = new NpgsqlConnection(ConnectionString);
            NpgsqlConnection.ClearPool(connection);
        }
    }

    /// <summary>Creates an SQLite database file owner-only, with its directory, when missing (<see cref="SqliteDatabaseFile.EnsureCreated"/>).</summary>
    public void EnsureSqliteFile(ILogger logger)
    {
        if (Provider == StorageProvider.Sqlite)
        {
            SqliteDatabaseFile.EnsureCreated(ConnectionString, logger);
        }
    }
}

/// <summary>Design-time factory for <c>dotnet ef migrations add … --context PostgresKeyDbContext</c> (no database needed).</summary>
internal sealed class PostgresKeyDbContextDesignFactory : IDesignTimeDbContextFactory<PostgresKeyDbContext>
{
    public PostgresKeyDbContext CreateDbContext(string[] args) =>
        (PostgresKeyDbContext)new KeyDbContextFactory(StorageProvider.Postgres, "Host=localhost;Database=keys", compiledModel: false).Create();
}

/// <summary>Design-time factory for <c>dotnet ef migrations add … --context SqliteKeyDbContext</c>.</summary>
internal sealed class SqliteKeyDbContextDesignFactory : IDesignTimeDbContextFactory<SqliteKeyDbContext>
{
    public SqliteKeyDbContext CreateDbContext(string[] args) =>
        (SqliteKeyDbContext)new KeyDbContextFactory(StorageProvider.Sqlite, "Data Source=keys.db", compiledModel: false).Create();
}
