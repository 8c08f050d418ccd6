using Google.Protobuf;
using TrustServer.Signer.Tests.Support;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Protocol;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signer.Tests.Services;

/// <summary>
/// The signer over mutual TLS when its PostgreSQL restarts (<c>pg_ctl restart -m fast</c>): the pooled connections die
/// with 57P01, and the next RPC must still succeed instead of failing INTERNAL (the publish that got a 500).
/// </summary>
public sealed class SignerDatabaseRestartTests(RestartablePostgresSignerFixture fixture) : IClassFixture<RestartablePostgresSignerFixture>
{
    private static readonly ByteString Content = ByteString.CopyFromUtf8("{\"_type\":\"Timestamp\",\"version\":2}");

    [Fact]
    public async Task PostgresRestart_BetweenTwoSigns_EveryRpcSucceedsAfterwards()
    {
        // Keys stored by another key store (as by another replica): the signer has none cached, so every RPC below
        // reads the database.
        var other = fixture.NewStore(new EnvironmentPassphraseSource(), TestPassphrases.Alias);
        var first = await other.CreateKeyAsync("docker.io/restart/first", "timestamp", KeyType.Ecdsa);
        var second = await other.CreateKeyAsync("docker.io/restart/second", "timestamp", KeyType.Ed25519);
        var third = await other.CreateKeyAsync("docker.io/restart/third", "snapshot", KeyType.Ecdsa);
        await fixture.Signing.SignAsync(new SignatureRequest { KeyID = new KeyID { ID = first.KeyId }, Content = Content });

        await fixture.RestartDatabaseAsync();
        var signature = await fixture.Signing.SignAsync(new SignatureRequest { KeyID = new KeyID { ID = second.KeyId }, Content = Content });
        Assert.True(SignatureVerifier.Verify(second.PublicKey, "eddsa", Content.ToByteArray(), signature.Content.ToByteArray()));

        await fixture.RestartDatabaseAsync();
        var info = await fixture.Keys.GetKeyInfoAsync(new KeyID { ID = third.KeyId });
        Assert.Equal("snapshot", info.Role);

        // Get-or-create: the pending key again, not a second one.
        await fixture.RestartDatabaseAsync();
        var created = await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = KeyType.Ecdsa, Gun = "docker.io/restart/third", Role = "snapshot" });
        Assert.Equal(third.KeyId, created.KeyInfo.KeyID.ID);
    }
}
