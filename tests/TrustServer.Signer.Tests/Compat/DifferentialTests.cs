using Google.Protobuf;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using TrustServer.Signer.Tests.Support;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Protocol;
using TrustServer.Testing;
using TrustServer.Tuf.Keys;

namespace TrustServer.Signer.Tests.Compat;

/// <summary>Our signer and the real notary-signer 0.7.0 on one PostgreSQL key database, same certificates and passphrase.</summary>
public sealed class DifferentialFixture : IAsyncLifetime
{
    private ReferenceNotarySigner? _reference;
    private GrpcChannel? _referenceChannel;

    public PostgresSignerFixture Ours { get; } = new();

    public GrpcChannel Theirs => _referenceChannel ?? throw new InvalidOperationException("not started");

    public ReferenceNotarySigner Reference => _reference ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        // Ours first: its migration creates the private_keys table notary-signer then uses.
        await Ours.InitializeAsync();
        _reference = await ReferenceNotarySigner.StartAsync(new ReferenceNotarySignerOptions
        {
            ServerCertificate = Ours.Certificates.Server,
            ConnectionString = Ours.ConnectionString,
            ClientCaFile = Ours.Certificates.CaFile,
            DefaultAlias = TestPassphrases.Alias,
            Passphrase = TestPassphrases.Passphrase,
        });
        _referenceChannel = SignerChannels.Create($"https://127.0.0.1:{_reference.Port}", Ours.Certificates, Ours.Certificates.Client);
    }

    public async Task DisposeAsync()
    {
        _referenceChannel?.Dispose();
        if (_reference is not null)
        {
            await _reference.DisposeAsync();
        }

        await Ours.DisposeAsync();
    }
}

/// <summary>
/// The same requests to both signers must give the same gRPC status code and message (spec signer.md §3, §4), and the
/// same answers for a shared key.
/// </summary>
public sealed class DifferentialTests(DifferentialFixture fixture) : IClassFixture<DifferentialFixture>
{
    public static TheoryData<string> Cases =>
    [
        "create-rsa", "create-empty", "create-ecdsa-x509", "getkeyinfo-unknown", "sign-unknown", "delete-unknown",
        "health-overall", "health-keymanagement", "health-signer", "health-unknown", "health-proto-signer",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task ErrorAndHealthCase_SameStatusAndMessage(string name)
    {
        var ours = await OutcomeAsync(fixture.Ours.Channel, name);
        var theirs = await OutcomeAsync(fixture.Theirs, name);
        Assert.Equal(theirs, ours);
    }

    [Fact]
    public async Task KeyWithoutPassphrase_SameStatusAndMessage()
    {
        const string alias = "differential_orphan";
        var store = fixture.Ours.NewStore(new StaticPassphraseSource([new(alias, "nobody-knows")]), alias);
        var key = await store.CreateKeyAsync($"docker.io/differential/orphan-{Guid.NewGuid():N}", "timestamp", KeyType.Ecdsa);
        foreach (var call in new Func<GrpcChannel, Task>[]
                 {
                     channel => new KeyManagement.KeyManagementClient(channel).GetKeyInfoAsync(new KeyID { ID = key.KeyId }).ResponseAsync,
                     channel => new Signing.Protocol.Signer.SignerClient(channel).SignAsync(new SignatureRequest { KeyID = new KeyID { ID = key.KeyId }, Content = ByteString.CopyFromUtf8("x") }).ResponseAsync,
                 })
        {
            Assert.Equal(await OutcomeAsync(() => call(fixture.Theirs)), await OutcomeAsync(() => call(fixture.Ours.Channel)));
        }
    }

    [Theory]
    [InlineData(KeyType.Ecdsa)]
    [InlineData(KeyType.Ed25519)]
    public async Task SharedKey_SameAnswersFromBoth(string algorithm)
    {
        var request = new CreateKeyRequest { Algorithm = algorithm, Gun = $"docker.io/differential/{Guid.NewGuid():N}", Role = "timestamp" };
        var ours = await new KeyManagement.KeyManagementClient(fixture.Ours.Channel).CreateKeyAsync(request);

        // Their CreateKey hands out our pending key; their GetKeyInfo decrypts it and answers as ours does.
        var theirs = await new KeyManagement.KeyManagementClient(fixture.Theirs).CreateKeyAsync(request);
        Assert.Equal(ours, theirs);
        var ourInfo = await new KeyManagement.KeyManagementClient(fixture.Ours.Channel).GetKeyInfoAsync(ours.KeyInfo.KeyID);
        var theirInfo = await new KeyManagement.KeyManagementClient(fixture.Theirs).GetKeyInfoAsync(ours.KeyInfo.KeyID);
        Assert.Equal(theirInfo, ourInfo);

        var content = ByteString.CopyFromUtf8("{\"signed\":{\"_type\":\"Timestamp\"}}");
        var ourSignature = await new Signing.Protocol.Signer.SignerClient(fixture.Ours.Channel).SignAsync(new SignatureRequest { KeyID = ours.KeyInfo.KeyID, Content = content });
        var theirSignature = await new Signing.Protocol.Signer.SignerClient(fixture.Theirs).SignAsync(new SignatureRequest { KeyID = ours.KeyInfo.KeyID, Content = content });
        Assert.Equal(theirSignature.KeyInfo, ourSignature.KeyInfo);
        Assert.Equal(theirSignature.Algorithm, ourSignature.Algorithm);
        var publicKey = new TufPublicKey(algorithm, ours.PublicKey_.ToByteArray());
        foreach (var signature in new[] { ourSignature, theirSignature })
        {
            Assert.True(SignatureVerifier.Verify(publicKey, signature.Algorithm.Algorithm_, content.Span, signature.Content.Span));
        }
    }

    private static Task<string> OutcomeAsync(GrpcChannel channel, string name)
    {
        var keys = new KeyManagement.KeyManagementClient(channel);
        var signer = new Signing.Protocol.Signer.SignerClient(channel);
        var health = new Health.HealthClient(channel);
        return OutcomeAsync(name switch
        {
            "create-rsa" => () => keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = "rsa", Gun = "docker.io/d/rsa", Role = "timestamp" }).ResponseAsync,
            "create-empty" => () => keys.CreateKeyAsync(new CreateKeyRequest { Gun = "docker.io/d/empty", Role = "timestamp" }).ResponseAsync,
            "create-ecdsa-x509" => () => keys.CreateKeyAsync(new CreateKeyRequest { Algorithm = "ecdsa-x509", Gun = "docker.io/d/x509", Role = "timestamp" }).ResponseAsync,
            "getkeyinfo-unknown" => () => keys.GetKeyInfoAsync(new KeyID { ID = "0123abcd" }).ResponseAsync,
            "sign-unknown" => () => signer.SignAsync(new SignatureRequest { KeyID = new KeyID { ID = "0123abcd" }, Content = ByteString.CopyFromUtf8("x") }).ResponseAsync,
            "delete-unknown" => () => keys.DeleteKeyAsync(new KeyID { ID = "0123abcd" }).ResponseAsync,
            "health-overall" => () => Check(health, string.Empty),
            "health-keymanagement" => () => Check(health, "grpc.health.v1.Health.KeyManagement"),
            "health-signer" => () => Check(health, "grpc.health.v1.Health.Signer"),
            "health-unknown" => () => Check(health, "grpc.health.v1.Health.Overall"),
            "health-proto-signer" => () => Check(health, "proto.Signer"),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
        });
    }

    private static async Task<string> Check(Health.HealthClient health, string service) =>
        (await health.CheckAsync(new HealthCheckRequest { Service = service })).Status.ToString();

    private static async Task<string> OutcomeAsync(Func<Task> call)
    {
        try
        {
            await call();
            return "OK";
        }
        catch (RpcException ex)
        {
            return $"{ex.StatusCode}: {ex.Status.Detail}";
        }
    }

    private static async Task<string> OutcomeAsync<T>(Func<Task<T>> call)
    {
        try
        {
            var result = await call();
            return result is string text ? $"OK {text}" : "OK";
        }
        catch (RpcException ex)
        {
            return $"{ex.StatusCode}: {ex.Status.Detail}";
        }
    }
}
