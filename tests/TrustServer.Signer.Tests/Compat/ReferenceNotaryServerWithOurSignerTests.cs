using Npgsql;
using TrustServer.Signer.Tests.Support;
using TrustServer.Testing;

namespace TrustServer.Signer.Tests.Compat;

/// <summary>
/// Issue 4, compat 2: the real notary-server 0.7.0 (trust_service remote, key_algorithm ecdsa, mutual TLS) uses OUR
/// signer (PostgreSQL key store), driven by the real notary client.
/// </summary>
public sealed class ReferenceNotaryServerWithOurSignerTests(PostgresSignerFixture fixture) : IClassFixture<PostgresSignerFixture>
{
    [Fact]
    public async Task NotaryClientFlow_WithServerManagedSnapshotAndTimestampRotation_Works()
    {
        await using var server = await ReferenceNotaryServer.StartAsync(new ReferenceNotaryServerOptions
        {
            TrustServiceType = "remote",
            KeyAlgorithm = "ecdsa",
            TrustServiceHostname = "localhost",
            TrustServicePort = fixture.Signer.Port,
            TrustServiceTlsCaFile = fixture.Certificates.CaFile,
            TrustServiceTlsClientCert = fixture.Certificates.ClientCertFile,
            TrustServiceTlsClientKey = fixture.Certificates.ClientKeyFile,
        });
        const string gun = "docker.io/signer-compat/app";
        using var work = new TemporaryDirectory("signer-compat");
        var target = work.Combine("hello.txt");
        await File.WriteAllTextAsync(target, "hello from the signer tests\n");

        using var client = new NotaryCli(server.Url);
        await RunAsync(client, server, ["init", gun, "--publish"]);
        await RunAsync(client, server, ["add", gun, "v1", target, "-p"]);
        await RunAsync(client, server, ["key", "rotate", gun, "snapshot", "-r"]);
        await RunAsync(client, server, ["key", "rotate", gun, "timestamp", "-r"]);
        await RunAsync(client, server, ["add", gun, "v2", target, "-p"]);

        using var other = new NotaryCli(server.Url);
        var list = (await RunAsync(other, server, ["list", gun])).StandardOutput;
        Assert.Contains("v1", list, StringComparison.Ordinal);
        Assert.Contains("v2", list, StringComparison.Ordinal);

        // Our key store holds the server-managed keys: two timestamp and one snapshot key for the GUN, all used.
        var keys = await ReadKeysAsync(gun);
        Assert.Equal(2, keys.Count(k => k.Role == "timestamp" && k.Algorithm == "ecdsa"));
        Assert.Equal(1, keys.Count(k => k.Role == "snapshot" && k.Algorithm == "ecdsa"));
        Assert.All(keys, k => Assert.True(k.Used, $"key {k.Role} never signed"));

        await RunAsync(client, server, ["delete", gun, "--remote"]);
        using var fresh = new NotaryCli(server.Url);
        Assert.False((await fresh.RunAsync(["list", gun])).Succeeded);
    }

    private static async Task<ProcessResult> RunAsync(NotaryCli client, ReferenceNotaryServer server, string[] arguments)
    {
        var result = await client.RunAsync(arguments);
        Assert.True(result.Succeeded, $"notary {string.Join(' ', arguments)} failed:\n{result}\n--- notary-server log (tail) ---\n{Tail(server.Log)}");
        return result;
    }

    private async Task<List<(string Role, string Algorithm, bool Used)>> ReadKeysAsync(string gun)
    {
        await using var connection = new NpgsqlConnection(fixture.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select role, algorithm, last_used is not null from private_keys where gun = @gun and deleted_at is null", connection);
        command.Parameters.AddWithValue("gun", gun);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new List<(string, string, bool)>();
        while (await reader.ReadAsync())
        {
            keys.Add((reader.GetString(0), reader.GetString(1), reader.GetBoolean(2)));
        }

        return keys;
    }

    private static string Tail(string log) => log.Length <= 4000 ? log : log[^4000..];
}
