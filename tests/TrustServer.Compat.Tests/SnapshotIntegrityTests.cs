using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustServer.Compat.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Compat.Tests;

/// <summary>Snapshot integrity over raw HTTP on PostgreSQL.</summary>
public sealed class SnapshotIntegrityOnPostgres(PostgresServerFixture fixture) : SnapshotIntegrityTests(fixture.Instance), IClassFixture<PostgresServerFixture>;

/// <summary>Snapshot integrity over raw HTTP on the embedded SQLite default.</summary>
public sealed class SnapshotIntegrityOnSqlite(SqliteServerFixture fixture) : SnapshotIntegrityTests(fixture.Instance), IClassFixture<SqliteServerFixture>;

/// <summary>
/// An upload whose snapshot names files the server does not have is refused (stricter than notary-server 0.7.0, see
/// README "Deviations"): the case of a client upload whose targets part was lost to a corrupt multipart boundary.
/// The test holds the client keys itself (root certificate with CN = GUN, targets, snapshot) and sends the bytes
/// the notary client would.
/// </summary>
public abstract class SnapshotIntegrityTests(TrustServerInstance server)
{
    private const string Boundary = "0123456789abcdef0123456789abcdef";

    [Fact]
    public async Task SnapshotOnlyUpload_NamingTargetsTheServerDoesNotHave_IsRefused_AndTheOldTargetsStayCurrent()
    {
        var gun = $"example.com/raw/snapshot-integrity-{Guid.NewGuid():N}"[..56];
        using var keys = await ClientKeys.CreateAsync(server.Http, gun);
        var url = $"/v2/{gun}/_trust/tuf/";
        var root = keys.Root();
        var targets1 = keys.Targets(1);
        var snapshot1 = keys.Snapshot(1, root, targets1);
        await AssertOk(await Http.PostAsync(url, Multipart([("root", root), ("targets", targets1), ("snapshot", snapshot1)])));
        var timestampBefore = await Http.GetByteArrayAsync($"{url}timestamp.json");

        // The client's next publish (targets v2 + snapshot v2) with one byte of the targets part's boundary flipped:
        // the server sees the targets part as preamble and only the snapshot part remains.
        var targets2 = keys.Targets(2);
        var snapshot2 = keys.Snapshot(2, root, targets2);
        var body = MultipartBytes([("targets", targets2), ("snapshot", snapshot2)]);
        body[5] ^= 0x01;

        var response = await Http.PostAsync(url, Content(body));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        var error = Assert.Single(JsonDocument.Parse(text).RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("INVALID_UPDATE", error.GetProperty("code").GetString());
        Assert.Equal(
            $"{{\"Name\":\"ErrBadSnapshot\",\"Error\":{{\"Msg\":\"sha256 checksum for targets did not match: expected {Convert.ToHexStringLower(SHA256.HashData(targets2))}\"}}}}",
            error.GetProperty("detail").GetRawText());

        // Nothing stored: the same timestamp, snapshot and targets are served, and a fresh client can read the repository.
        Assert.Equal(timestampBefore, await Http.GetByteArrayAsync($"{url}timestamp.json"));
        Assert.Equal(snapshot1, await Http.GetByteArrayAsync($"{url}snapshot.json"));
        Assert.Equal(targets1, await Http.GetByteArrayAsync($"{url}targets.json"));
        Assert.Equal(HttpStatusCode.NotFound, (await Http.GetAsync($"{url}2.snapshot.json")).StatusCode);
        using var fresh = server.NewClient();
        await fresh.RunCheckedAsync(["list", gun]);

        // The complete upload still goes through.
        await AssertOk(await Http.PostAsync(url, Multipart([("targets", targets2), ("snapshot", snapshot2)])));
        Assert.Equal(targets2, await Http.GetByteArrayAsync($"{url}targets.json"));
    }

    private HttpClient Http => server.Http;

    private static ByteArrayContent Multipart(IEnumerable<(string Role, byte[] Bytes)> parts) => Content(MultipartBytes(parts));

    // Go's mime/multipart layout, as the notary client writes it.
    private static byte[] MultipartBytes(IEnumerable<(string Role, byte[] Bytes)> parts)
    {
        using var stream = new MemoryStream();
        foreach (var (role, bytes) in parts)
        {
            stream.Write(Encoding.ASCII.GetBytes(
                (stream.Length == 0 ? string.Empty : "\r\n") + $"--{Boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{role}\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n"));
            stream.Write(bytes);
        }

        stream.Write(Encoding.ASCII.GetBytes($"\r\n--{Boundary}--\r\n"));
        return stream.ToArray();
    }

    private static ByteArrayContent Content(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=" + Boundary);
        return content;
    }

    private static async Task AssertOk(HttpResponseMessage response) =>
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());

    /// <summary>The keys a notary client holds for a repository whose snapshot it manages; the timestamp key is the server's.</summary>
    private sealed class ClientKeys : IDisposable
    {
        private readonly TestCertificate _rootCertificate;
        private readonly TufPublicKey _rootKey;
        private readonly TufSigningKey _targets = TufSigningKey.Generate(KeyType.Ecdsa);
        private readonly TufSigningKey _snapshot = TufSigningKey.Generate(KeyType.Ecdsa);
        private readonly TufPublicKey _timestamp;
        private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;

        private ClientKeys(string gun, TufPublicKey timestamp)
        {
            _rootCertificate = TestCertificates.Create(new TestCertificateOptions
            {
                CommonName = gun,
                NotBefore = _now.AddDays(-1),
                NotAfter = _now.AddYears(10),
                ExtendedKeyUsages = [ExtendedKeyUsageOids.CodeSigning],
            });
            _rootKey = new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(_rootCertificate.CertificatePem));
            _timestamp = timestamp;
        }

        public static async Task<ClientKeys> CreateAsync(HttpClient http, string gun) =>
            new(gun, TufPublicKey.FromJson(JsonParser.Parse(await http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/timestamp.key")), "timestamp.key"));

        public byte[] Root()
        {
            var body = Body("Root", 1)
                .Set("consistent_snapshot", JsonLiteral.False())
                .Set("keys", new JsonObject()
                    .Set(_rootKey.Id, _rootKey.ToJson())
                    .Set(_targets.PublicKey.Id, _targets.PublicKey.ToJson())
                    .Set(_snapshot.PublicKey.Id, _snapshot.PublicKey.ToJson())
                    .Set(_timestamp.Id, _timestamp.ToJson()))
                .Set("roles", new JsonObject()
                    .Set("root", Role(_rootKey))
                    .Set("snapshot", Role(_snapshot.PublicKey))
                    .Set("targets", Role(_targets.PublicKey))
                    .Set("timestamp", Role(_timestamp)));
            var canonical = CanonicalJson.Encode(body);
            var signature = ((ECDsa)_rootCertificate.PrivateKey).SignHash(SHA256.HashData(canonical), DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
            return SignedEnvelope.Assemble(canonical, [new TufSignature(_rootKey.Id, SignatureMethod.Ecdsa, signature)]);
        }

        public byte[] Targets(long version) => Sign(
            Body("Targets", version)
                .Set("delegations", new JsonObject().Set("keys", new JsonObject()).Set("roles", new JsonArray()))
                .Set("targets", new JsonObject().Set("app", FileMeta.Of(Encoding.UTF8.GetBytes($"app version {version}\n")).ToJson())),
            _targets);

        public byte[] Snapshot(long version, byte[] root, byte[] targets) => Sign(
            Body("Snapshot", version).Set("meta", new JsonObject().Set("root", FileMeta.Of(root).ToJson()).Set("targets", FileMeta.Of(targets).ToJson())),
            _snapshot);

        public void Dispose()
        {
            _rootCertificate.Dispose();
            _targets.Dispose();
            _snapshot.Dispose();
        }

        private static byte[] Sign(JsonObject body, TufSigningKey key)
        {
            var canonical = CanonicalJson.Encode(body);
            return SignedEnvelope.Assemble(canonical, [new TufSignature(key.PublicKey.Id, key.Method, key.Sign(canonical))]);
        }

        private static JsonObject Role(TufPublicKey key) =>
            new JsonObject().Set("keyids", new JsonArray([new JsonString(key.Id)])).Set("threshold", new JsonNumber(1));

        private JsonObject Body(string type, long version) =>
            new JsonObject()
                .Set("_type", new JsonString(type))
                .Set("expires", new JsonString(TufExpiry.FromInstant(_now.AddYears(3)).Text))
                .Set("version", new JsonNumber(version));
    }
}
