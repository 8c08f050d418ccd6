using Microsoft.EntityFrameworkCore;
using TrustServer.Data;
using TrustServer.Signing.Keys;
using TrustServer.Testing;

namespace TrustServer.Signing.Tests.Support;

/// <summary>A migrated, empty key database for one test class.</summary>
public interface IKeyDatabase
{
    StorageProvider Provider { get; }

    string ConnectionString { get; }

    /// <summary>Another empty database of the same provider (not migrated), dropped on dispose.</summary>
    Task<ScratchKeyDatabase> CreateScratchAsync();
}

/// <summary>An extra database for a test that needs one to itself (e.g. an operation over all keys).</summary>
public sealed class ScratchKeyDatabase(StorageProvider provider, string connectionString, Func<Task> drop) : IKeyDatabase, IAsyncDisposable
{
    public StorageProvider Provider => provider;

    public string ConnectionString => connectionString;

    public Task<ScratchKeyDatabase> CreateScratchAsync() => throw new NotSupportedException();

    public async ValueTask DisposeAsync() => await drop();
}

/// <summary>A fresh PostgreSQL database with the key store's migrations applied.</summary>
public sealed class PostgresKeyDatabaseFixture : PostgresDatabaseFixture, IKeyDatabase
{
    public StorageProvider Provider => StorageProvider.Postgres;

    protected override string DatabaseNamePrefix => "signing_keys_test";

    public async Task<ScratchKeyDatabase> CreateScratchAsync()
    {
        var name = await Server.CreateDatabaseAsync("signing_keys_scratch");
        return new ScratchKeyDatabase(StorageProvider.Postgres, Server.GetConnectionString(name), () => Server.DropDatabaseAsync(name));
    }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await KeyDatabase.NewStore(this).MigrateAsync();
    }
}

/// <summary>A fresh SQLite file (in a directory that does not exist yet) with the key store's migrations applied.</summary>
public sealed class SqliteKeyDatabaseFixture : IKeyDatabase, IAsyncLifetime
{
    private readonly TemporaryDirectory _directory = new("signing-keys");

    public StorageProvider Provider => StorageProvider.Sqlite;

    public string ConnectionString => $"Data Source={_directory.Combine("data", "signer.db")};Pooling=False";

    public Task InitializeAsync() => KeyDatabase.NewStore(this).MigrateAsync();

    public Task<ScratchKeyDatabase> CreateScratchAsync()
    {
        var directory = new TemporaryDirectory("signing-scratch");
        return Task.FromResult(new ScratchKeyDatabase(
            StorageProvider.Sqlite,
            $"Data Source={directory.Combine("keys.db")};Pooling=False",
            () =>
            {
                directory.Dispose();
                return Task.CompletedTask;
            }));
    }

    public Task DisposeAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }
}

internal static class KeyDatabase
{
    public const string Alias = "timestamp_1";
    public const string Passphrase = "testpassword";

    public static StaticPassphraseSource DefaultPassphrases { get; } = new([new(Alias, Passphrase)]);

    public static KeyStore NewStore(IKeyDatabase database, IPassphraseSource? passphrases = null, string alias = Alias, TimeProvider? time = null) =>
        new(database.Provider, database.ConnectionString, alias, passphrases ?? DefaultPassphrases, time);

    public static KeyDbContext NewContext(IKeyDatabase database) => new KeyDbContextFactory(database.Provider, database.ConnectionString).Create();

    public static async Task<PrivateKeyRow> ReadRowAsync(IKeyDatabase database, string keyId)
    {
        await using var context = NewContext(database);
        return await context.AllPrivateKeys.AsNoTracking().SingleAsync(r => r.KeyId == keyId);
    }

    public static async Task<List<PrivateKeyRow>> ReadRowsAsync(IKeyDatabase database, string gun)
    {
        await using var context = NewContext(database);
        return await context.AllPrivateKeys.AsNoTracking().Where(r => r.Gun == gun).ToListAsync();
    }
}
