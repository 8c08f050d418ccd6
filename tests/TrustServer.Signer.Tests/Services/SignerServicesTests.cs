using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using TrustServer.Signer.Tests.Support;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Protocol;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signer.Tests.Services;

/// <summary>
/// notary-signer's RPC semantics and status codes (spec signer.md §3, §4) through the generated client over mutual TLS.
/// Runs on PostgreSQL and on SQLite.
/// </summary>
public abstract class SignerServicesTests(SignerFixture fixture)
{
    private static readonly byte[] P256SpkiPrefix = Convert.FromHexString("301306072a8648ce3d0201");

    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    public async Task CreateKey_SupportedAlgorithm_ReturnsKeyWithNotaryEncodingAndReusesPendingKey(string algorithm)
    {
        var gun = $"docker.io/create/{algorithm}/{Guid.NewGuid():N}";
        var created = await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = algorithm, Gun = gun, Role = "timestamp" });

        Assert.Equal(algorithm, created.KeyInfo.Algorithm.Algorithm_);
        var publicKey = created.PublicKey_.ToByteArray();
        if (algorithm == KeyType.Ecdsa)
        {
            Assert.Equal(91, publicKey.Length);
            Assert.Equal(P256SpkiPrefix, publicKey[2..13]);
        }
        else
        {
            Assert.Equal(32, publicKey.Length);
        }

        Assert.Equal(new TufPublicKey(algorithm, publicKey).Id, created.KeyInfo.KeyID.ID);

        // Pending (never signed) → the same key again; another role or GUN → a different key (signer.md §6).
        var again = await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = algorithm, Gun = gun, Role = "timestamp" });
        Assert.Equal(created.KeyInfo.KeyID.ID, again.KeyInfo.KeyID.ID);
        var snapshot = await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = algorithm, Gun = gun, Role = "snapshot" });
        Assert.NotEqual(created.KeyInfo.KeyID.ID, snapshot.KeyInfo.KeyID.ID);

        // Once it has signed it is active: the next CreateKey makes a new key.
        await fixture.Signing.SignAsync(new SignatureRequest { KeyID = created.KeyInfo.KeyID, Content = ByteString.CopyFromUtf8("{}") });
        var rotated = await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = algorithm, Gun = gun, Role = "timestamp" });
        Assert.NotEqual(created.KeyInfo.KeyID.ID, rotated.KeyInfo.KeyID.ID);
    }

    [Theory]
    [InlineData("rsa")]
    [InlineData("ecdsa-x509")]
    [InlineData("")]
    [InlineData("ECDSA")]
    public async Task CreateKey_UnsupportedAlgorithm_IsUnknownWithNotaryMessage(string algorithm)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = algorithm, Gun = "docker.io/bad/alg", Role = "timestamp" }));
        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.Equal($"algorithm {algorithm} not supported for create key", error.Status.Detail);
    }

    [Theory]
    [InlineData(KeyType.Ecdsa, "ecdsa")]
    [InlineData(KeyType.Ed25519, "eddsa")]
    public async Task GetKeyInfoAndSign_ExistingKey_ReturnRoleAndVerifiableSignature(string algorithm, string method)
    {
        var gun = $"docker.io/sign/{Guid.NewGuid():N}";
        var created = await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = algorithm, Gun = gun, Role = "snapshot" });

        var info = await fixture.Keys.GetKeyInfoAsync(created.KeyInfo.KeyID);
        Assert.Equal("snapshot", info.Role);
        Assert.Equal(created.KeyInfo, info.KeyInfo);
        Assert.Equal(created.PublicKey_, info.PublicKey);

        var content = Encoding.UTF8.GetBytes("{\"_type\":\"Snapshot\",\"version\":1}");
        var signature = await fixture.Signing.SignAsync(new SignatureRequest { KeyID = created.KeyInfo.KeyID, Content = ByteString.CopyFrom(content) });
        Assert.Equal(created.KeyInfo, signature.KeyInfo);
        Assert.Equal(method, signature.Algorithm.Algorithm_);
        Assert.Equal(64, signature.Content.Length);
        var publicKey = new TufPublicKey(algorithm, created.PublicKey_.ToByteArray());
        Assert.True(SignatureVerifier.Verify(publicKey, method, content, signature.Content.ToByteArray()));
        Assert.False(SignatureVerifier.Verify(publicKey, method, [.. content, (byte)' '], signature.Content.ToByteArray()));
    }

    [Fact]
    public async Task GetKeyInfo_UnknownKey_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Keys.GetKeyInfoAsync(new KeyID { ID = "nonexistent" }));
        Assert.Equal((StatusCode.NotFound, "key nonexistent not found"), (error.StatusCode, error.Status.Detail));
    }

    [Fact]
    public async Task Sign_UnknownKey_IsNotFound()
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Signing.SignAsync(new SignatureRequest { KeyID = new KeyID { ID = "nonexistent" }, Content = ByteString.CopyFromUtf8("x") }));
        Assert.Equal((StatusCode.NotFound, "signing key not found: nonexistent"), (error.StatusCode, error.Status.Detail));
    }

    [Fact]
    public async Task GetKeyInfoAndSign_KeyWithoutPassphrase_AreNotFound()
    {
        // A row encrypted under an alias whose NOTARY_SIGNER_<ALIAS> the signer does not have.
        const string alias = "alias_nobody_has";
        var store = fixture.NewStore(new StaticPassphraseSource([new(alias, "secret")]), alias);
        var key = await store.CreateKeyAsync($"docker.io/orphan/{Guid.NewGuid():N}", "timestamp", KeyType.Ecdsa);

        var info = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Keys.GetKeyInfoAsync(new KeyID { ID = key.KeyId }));
        Assert.Equal((StatusCode.NotFound, $"key {key.KeyId} not found"), (info.StatusCode, info.Status.Detail));
        var sign = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Signing.SignAsync(new SignatureRequest { KeyID = new KeyID { ID = key.KeyId }, Content = ByteString.CopyFromUtf8("x") }));
        Assert.Equal((StatusCode.NotFound, $"signing key not found: {key.KeyId}"), (sign.StatusCode, sign.Status.Detail));
    }

    [Fact]
    public async Task DeleteKey_ExistingAndUnknownKeys_AreOkAndKeyIsGone()
    {
        var created = await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = KeyType.Ecdsa, Gun = $"docker.io/delete/{Guid.NewGuid():N}", Role = "timestamp" });
        await fixture.Keys.DeleteKeyAsync(created.KeyInfo.KeyID);
        await fixture.Keys.DeleteKeyAsync(created.KeyInfo.KeyID);
        await fixture.Keys.DeleteKeyAsync(new KeyID { ID = "never-existed" });

        var info = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Keys.GetKeyInfoAsync(created.KeyInfo.KeyID));
        Assert.Equal(StatusCode.NotFound, info.StatusCode);
        var sign = await Assert.ThrowsAsync<RpcException>(async () =>
            await fixture.Signing.SignAsync(new SignatureRequest { KeyID = created.KeyInfo.KeyID, Content = ByteString.CopyFromUtf8("x") }));
        Assert.Equal(StatusCode.NotFound, sign.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("grpc.health.v1.Health.KeyManagement")]
    [InlineData("grpc.health.v1.Health.Signer")]
    public async Task HealthCheck_NotaryServiceNames_AreServing(string service)
    {
        var response = await new Health.HealthClient(fixture.Channel).CheckAsync(new HealthCheckRequest { Service = service });
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Theory]
    [InlineData("grpc.health.v1.Health.Overall")]
    [InlineData("proto.Signer")]
    public async Task HealthCheck_OtherNames_AreNotFoundUnknownService(string service)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new Health.HealthClient(fixture.Channel).CheckAsync(new HealthCheckRequest { Service = service }));
        Assert.Equal((StatusCode.NotFound, "unknown service"), (error.StatusCode, error.Status.Detail));
    }

    [Theory]
    [InlineData("CreateKey", "gun")]
    [InlineData("CreateKey", "role")]
    [InlineData("CreateKey", "algorithm")]
    [InlineData("GetKeyInfo", "key ID")]
    [InlineData("DeleteKey", "key ID")]
    [InlineData("Sign", "key ID")]
    public async Task OversizedField_IsInvalidArgument_AndNeitherStoredNorEchoedNorLogged(string rpc, string field)
    {
        // 1 MiB, well under gRPC's 4 MiB message limit: only our own bound stops it.
        var huge = new string('k', 1 << 20);
        var gun = $"docker.io/limits/{Guid.NewGuid():N}";
        var call = (rpc, field) switch
        {
            (_, "gun") => fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = KeyType.Ecdsa, Gun = huge, Role = "timestamp" }).ResponseAsync,
            (_, "role") => fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = KeyType.Ecdsa, Gun = gun, Role = huge }).ResponseAsync,
            (_, "algorithm") => fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = huge, Gun = gun, Role = "timestamp" }).ResponseAsync,
            ("GetKeyInfo", _) => fixture.Keys.GetKeyInfoAsync(new KeyID { ID = huge }).ResponseAsync,
            ("DeleteKey", _) => fixture.Keys.DeleteKeyAsync(new KeyID { ID = huge }).ResponseAsync,
            _ => (Task)fixture.Signing.SignAsync(new SignatureRequest { KeyID = new KeyID { ID = huge }, Content = ByteString.CopyFromUtf8("{}") }).ResponseAsync,
        };

        var error = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal($"{field} is too long: {huge.Length} characters, at most 255", error.Status.Detail);
        Assert.Equal(0, await fixture.QueryScalarAsync("SELECT count(*) FROM private_keys WHERE length(gun) > 255 OR length(role) > 255"));
        Assert.DoesNotContain(fixture.Logs.Lines, line => line.Contains(huge[..256], StringComparison.Ordinal));
        Assert.Contains(fixture.Logs.Lines, line => line.Contains($"rejected a {field} of {huge.Length} characters", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LongestAllowedFields_AreAccepted()
    {
        var gun = $"docker.io/limits/{Guid.NewGuid():N}/".PadRight(255, 'g');
        var role = new string('r', 255);
        var created = await fixture.Keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = KeyType.Ed25519, Gun = gun, Role = role });
        Assert.Equal(role, (await fixture.Keys.GetKeyInfoAsync(created.KeyInfo.KeyID)).Role);

        var error = await Assert.ThrowsAsync<RpcException>(async () => await fixture.Keys.GetKeyInfoAsync(new KeyID { ID = new string('0', 255) }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }
}

public sealed class PostgresSignerServicesTests(PostgresSignerFixture fixture) : SignerServicesTests(fixture), IClassFixture<PostgresSignerFixture>;

public sealed class SqliteSignerServicesTests(SqliteSignerFixture fixture) : SignerServicesTests(fixture), IClassFixture<SqliteSignerFixture>;
