using System.Data.Common;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using TrustServer.Data;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Protocol;
using TrustServer.Testing;

namespace TrustServer.Signer.Tests.Support;

/// <summary>Passphrases the signers under test read from the environment, as notary-signer does.</summary>
public static class TestPassphrases
{
    public const string Alias = "signer_tests";
    public const string Passphrase = "signer-tests-passphrase";

    /// <summary>Sets <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c> in this process (the same value for every test class).</summary>
    public static void Set(string alias = Alias, string passphrase = Passphrase) =>
        Environment.SetEnvironmentVariable(EnvironmentPassphraseSource.VariableName(alias), passphrase);
}

/// <summary>Our signer with mutual TLS from a test CA on one key database, and a client with a good certificate.</summary>
public abstract class SignerFixture : IAsyncLifetime
{
    private SignerInstance? _signer;
    private GrpcChannel? _channel;

    public SignerCertificates Certificates { get; } = new();

    /// <summary>Every line the signer logs (at its configured levels).</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public SignerInstance Signer => _signer ?? throw new InvalidOperationException("not started");

    public GrpcChannel Channel => _channel ?? throw new InvalidOperationException("not started");

    public KeyManagement.KeyManagementClient Keys => new(Channel);

    public Signing.Protocol.Signer.SignerClient Signing => new(Channel);

    public abstract StorageProvider Provider { get; }

    public abstract string ConnectionString { get; }

    public async Task InitializeAsync()
    {
        TestPassphrases.Set();
        await InitializeDatabaseAsync();
        _signer = await SignerInstance.StartAsync(
        [
            .. Certificates.TlsSettings,
            new("Storage:Provider", Provider.ToString()),
            new("ConnectionStrings:Keys", ConnectionString),
            new("Keys:DefaultAlias", TestPassphrases.Alias),
            .. await ExtraSettingsAsync(),
        ],
        services: services => services.AddSingleton<ILoggerProvider>(Logs));
        _channel = SignerChannels.Create(_signer.Url, Certificates, Certificates.Client);
    }

    public async Task DisposeAsync()
    {
        _channel?.Dispose();
        if (_signer is not null)
        {
            await _signer.DisposeAsync();
        }

        await DisposeDatabaseAsync();
        Certificates.Dispose();
    }

    /// <summary>A key store on the same database (for tests that arrange rows directly).</summary>
    public KeyStore NewStore(IPassphraseSource passphrases, string alias) => new(Provider, ConnectionString, alias, passphrases);

    /// <summary>Runs a scalar query on the key database (e.g. to check what is stored).</summary>
    public async Task<long> QueryScalarAsync(string sql)
    {
        await using DbConnection connection = Provider == StorageProvider.Postgres
            ? new NpgsqlConnection(ConnectionString)
            : new SqliteConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    protected abstract Task InitializeDatabaseAsync();

    /// <summary>Settings on top of the common ones (e.g. the PKCS#11 key backend).</summary>
    protected virtual Task<IEnumerable<KeyValuePair<string, string?>>> ExtraSettingsAsync() => Task.FromResult<IEnumerable<KeyValuePair<string, string?>>>([]);

    protected abstract Task DisposeDatabaseAsync();
}

public class PostgresSignerFixture : SignerFixture
{
    private readonly PostgresDatabaseFixture _database = new();

    public override StorageProvider Provider => StorageProvider.Postgres;

    public override string ConnectionString => _database.ConnectionString;

    protected override Task InitializeDatabaseAsync() => _database.InitializeAsync();

    protected override Task DisposeDatabaseAsync() => _database.DisposeAsync();
}

public sealed class SqliteSignerFixture : SignerFixture
{
    private readonly TemporaryDirectory _directory = new("signer-sqlite");

    public override StorageProvider Provider => StorageProvider.Sqlite;

    public override string ConnectionString => $"Data Source={_directory.Combine("data", "signer.db")};Pooling=False";

    protected override Task InitializeDatabaseAsync() => Task.CompletedTask;

    protected override Task DisposeDatabaseAsync()
    {
        _directory.Dispose();
        return Task.CompletedTask;
    }
}

/// <summary>The signer with <c>Keys:Backend = Pkcs11</c> on this test process's SoftHSM2 token, key database on PostgreSQL.</summary>
public sealed class Pkcs11SignerFixture : PostgresSignerFixture
{
    protected override async Task<IEnumerable<KeyValuePair<string, string?>>> ExtraSettingsAsync() => (await SoftHsm.TokenAsync()).Settings;
}

/// <summary>The signer on a PostgreSQL cluster of its own, which the tests may restart.</summary>
public sealed class RestartablePostgresSignerFixture : SignerFixture
{
    private LocalPostgresCluster? _cluster;

    public override StorageProvider Provider => StorageProvider.Postgres;

    public override string ConnectionString => (_cluster ?? throw new InvalidOperationException("not started")).ConnectionString;

    /// <summary><c>pg_ctl restart -m fast</c>: every connection of the signer's pool dies (57P01).</summary>
    public Task RestartDatabaseAsync() => _cluster!.RestartServerAsync();

    protected override async Task InitializeDatabaseAsync()
    {
        var binDirectory = LocalPostgresCluster.FindBinDirectory()
            ?? throw new InvalidOperationException("Restart tests run their own PostgreSQL cluster: install the server binaries (apt-get install postgresql).");
        _cluster = await LocalPostgresCluster.StartAsync(binDirectory, CancellationToken.None);
    }

    protected override Task DisposeDatabaseAsync()
    {
        _cluster?.Stop();
        return Task.CompletedTask;
    }
}
