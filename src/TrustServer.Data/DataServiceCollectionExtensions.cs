using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TrustServer.Data.Providers;

namespace TrustServer.Data;

/// <summary>Registers the metadata store and migrates its database (for the server host, DESIGN.md §6).</summary>
public static class DataServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="IMetadataStore"/> as a thread-safe singleton on a pooled EF Core context factory for
    /// <paramref name="provider"/>. Uses <see cref="TimeProvider"/> and <see cref="ILoggerFactory"/> from the
    /// container when registered (else the system clock and no logging). Does not touch the database; call
    /// <see cref="MigrateMetadataDatabaseAsync"/> at start-up (or from the <c>migrate</c> command).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="provider">The database provider (<c>Storage:Provider</c>).</param>
    /// <param name="connectionString">
    /// The connection string (<c>ConnectionStrings:Metadata</c>), e.g. <c>Data Source=data/trustserver.db</c> for
    /// SQLite or <c>Host=db;Database=notaryserver;Username=server;Password=…</c> for PostgreSQL.
    /// </param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMetadataStore(this IServiceCollection services, StorageProvider provider, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        switch (provider)
        {
            case StorageProvider.Postgres:
                services.AddPooledDbContextFactory<PostgresMetadataDbContext>(options => PostgresMetadataDbContext.Configure(options, connectionString));
                services.AddSingleton<IMetadataDbContextFactory>(sp =>
                    new MetadataDbContextFactory<PostgresMetadataDbContext>(sp.GetRequiredService<IDbContextFactory<PostgresMetadataDbContext>>()));
                break;
            case StorageProvider.Sqlite:
                services.AddPooledDbContextFactory<SqliteMetadataDbContext>(options => SqliteMetadataDbContext.Configure(options, connectionString));
                services.AddSingleton<IMetadataDbContextFactory>(sp =>
                    new MetadataDbContextFactory<SqliteMetadataDbContext>(sp.GetRequiredService<IDbContextFactory<SqliteMetadataDbContext>>()));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(provider), provider, "Unknown storage provider.");
        }

        services.AddSingleton(new MetadataStoreSettings(provider, connectionString));
        services.AddSingleton<IChangeSignal>(_ => provider == StorageProvider.Postgres ? new PostgresChangeSignal(connectionString) : new PollingChangeSignal());
        services.AddSingleton<IMetadataCatalog>(sp => new EfMetadataCatalog(sp.GetRequiredService<IMetadataDbContextFactory>()));
        services.AddSingleton<IMetadataStore>(sp => new EfMetadataStore(
            sp.GetRequiredService<IMetadataDbContextFactory>(),
            provider,
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>()?.CreateLogger<EfMetadataStore>() ?? NullLogger<EfMetadataStore>.Instance));
        return services;
    }

    /// <summary>
    /// Applies the pending migrations of the metadata database registered by <see cref="AddMetadataStore"/>
    /// (idempotent; safe when several replicas start at once, EF Core serializes migrators with a database lock).
    /// For SQLite, first creates the database file owner-only (<see cref="SqliteDatabaseFile.EnsureCreated"/>) and
    /// afterwards switches it to WAL journaling so that readers do not block the writer.
    /// </summary>
    /// <param name="services">The built service provider.</param>
    /// <param name="cancellationToken">Cancels the migration.</param>
    /// <returns>A task that completes when the schema is current.</returns>
    public static async Task MigrateMetadataDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        var settings = services.GetRequiredService<MetadataStoreSettings>();
        if (settings.Provider == StorageProvider.Sqlite)
        {
            SqliteDatabaseFile.EnsureCreated(
                settings.ConnectionString,
                services.GetService<ILoggerFactory>()?.CreateLogger(typeof(SqliteDatabaseFile)) ?? NullLogger.Instance);
        }

        await using var db = await services.GetRequiredService<IMetadataDbContextFactory>().CreateAsync(cancellationToken).ConfigureAwait(false);
        await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);

        if (settings.Provider == StorageProvider.Sqlite && !IsInMemory(new SqliteConnectionStringBuilder(settings.ConnectionString)))
        {
            // Persistent per database file; a no-op when already set.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsInMemory(SqliteConnectionStringBuilder builder) =>
        builder.Mode == SqliteOpenMode.Memory
        || string.IsNullOrEmpty(builder.DataSource)
        || string.Equals(builder.DataSource, ":memory:", StringComparison.OrdinalIgnoreCase);
}

/// <summary>The provider and connection string given to <see cref="DataServiceCollectionExtensions.AddMetadataStore"/>.</summary>
internal sealed record MetadataStoreSettings(StorageProvider Provider, string ConnectionString);
