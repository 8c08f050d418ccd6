using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using TrustServer.Testing;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Bench;

/// <summary>One repository's uploads, signed before any timing starts: the init and N consecutive updates.</summary>
internal sealed class PreparedRepository(string gun, byte[] init, IReadOnlyList<byte[]> updates, string boundary)
{
    public string Gun { get; } = gun;

    /// <summary><c>notary init --publish</c>: root v1, targets v1, snapshot v1.</summary>
    public byte[] Init { get; } = init;

    /// <summary>Update k: targets v(k+2) and snapshot v(k+2), client-managed snapshot.</summary>
    public IReadOnlyList<byte[]> Updates { get; } = updates;

    public string Boundary { get; } = boundary;
}

/// <summary>Throughput and latency of one publish measurement.</summary>
internal sealed record PublishResult(int Publishers, long Accepted, long Failed, double Seconds, double PublishesPerSecond, double P50Ms, double P99Ms, string? FirstError, CpuShare? Cpu = null);

/// <summary>
/// Publish load: multipart uploads exactly as the notary client sends them (one part per role, field
/// <c>files</c>, file name = role, <c>application/octet-stream</c>; targets + snapshot per update, snapshot
/// managed by the client, consecutive versions). Keys are held by this tool; the server's timestamp key comes
/// from <c>GET timestamp.key</c>, as <c>notary init</c> does.
/// </summary>
internal static class Publishing
{
    public static async Task<PreparedRepository> PrepareAsync(HttpClient http, string baseUrl, string gun, int updates, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var (root, targetsKey, snapshotKey) = await CreateRootAsync(http, baseUrl, gun, cancellationToken);
        using var targetsKeyOwned = targetsKey;
        using var snapshotKeyOwned = snapshotKey;

        var boundary = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(30));
        var targets1 = Targets(targetsKey, 1, now);
        var init = Multipart(boundary, [("root", root), ("targets", targets1), ("snapshot", Snapshot(snapshotKey, 1, now, root, targets1))]);
        var bodies = new byte[updates][];
        for (var i = 0; i < updates; i++)
        {
            var version = i + 2;
            var targets = Targets(targetsKey, version, now);
            bodies[i] = Multipart(boundary, [("targets", targets), ("snapshot", Snapshot(snapshotKey, version, now, root, targets))]);
        }

        return new PreparedRepository(gun, init, bodies, boundary);
    }

    /// <summary>
    /// A new repository's root (v1, signed with a fresh self-signed certificate key like the client's) naming fresh
    /// targets and snapshot keys and the server's timestamp key (from <c>GET timestamp.key</c>, as <c>notary init</c>
    /// does). The caller owns the returned keys.
    /// </summary>
    public static async Task<(byte[] Root, TufSigningKey TargetsKey, TufSigningKey SnapshotKey)> CreateRootAsync(
        HttpClient http, string baseUrl, string gun, CancellationToken cancellationToken)
    {
        var keyJson = await http.GetByteArrayAsync(new Uri($"{baseUrl}/v2/{gun}/_trust/tuf/timestamp.key"), cancellationToken);
        var timestampKey = TufPublicKey.FromJson(JsonParser.Parse(keyJson), "timestamp.key");
        var now = DateTimeOffset.UtcNow;

        // Like the client's root key: a self-signed ECDSA certificate with CN = GUN, valid 10 years.
        using var rootCertificate = TestCertificates.Create(new TestCertificateOptions
        {
            CommonName = gun,
            NotBefore = now.AddDays(-1),
            NotAfter = now.AddYears(10),
            ExtendedKeyUsages = [ExtendedKeyUsageOids.CodeSigning],
        });
        var rootKey = new TufPublicKey(KeyType.EcdsaX509, Encoding.ASCII.GetBytes(rootCertificate.CertificatePem));
        var rootEcdsa = (ECDsa)rootCertificate.PrivateKey;
        var targetsKey = TufSigningKey.Generate(KeyType.Ecdsa);
        var snapshotKey = TufSigningKey.Generate(KeyType.Ecdsa);

        var keys = new JsonObject()
            .Set(rootKey.Id, rootKey.ToJson())
            .Set(targetsKey.PublicKey.Id, targetsKey.PublicKey.ToJson())
            .Set(snapshotKey.PublicKey.Id, snapshotKey.PublicKey.ToJson())
            .Set(timestampKey.Id, timestampKey.ToJson());
        var rootBody = new JsonObject()
            .Set("_type", new JsonString("Root"))
            .Set("consistent_snapshot", JsonLiteral.False())
            .Set("expires", Expiry(now.AddYears(10)))
            .Set("keys", keys)
            .Set("roles", new JsonObject()
                .Set("root", Role(rootKey))
                .Set("snapshot", Role(snapshotKey.PublicKey))
                .Set("targets", Role(targetsKey.PublicKey))
                .Set("timestamp", Role(timestampKey)))
            .Set("version", new JsonNumber(1));
        var rootCanonical = CanonicalJson.Encode(rootBody);
        var root = SignedEnvelope.Assemble(
            rootCanonical,
            [new TufSignature(rootKey.Id, SignatureMethod.Ecdsa, rootEcdsa.SignHash(SHA256.HashData(rootCanonical), DSASignatureFormat.IeeeP1363FixedFieldConcatenation))]);
        return (root, targetsKey, snapshotKey);
    }

    /// <summary>Publishes the init of every repository (untimed).</summary>
    public static async Task InitializeAsync(HttpClient http, string baseUrl, IEnumerable<PreparedRepository> repositories, CancellationToken cancellationToken)
    {
        foreach (var repository in repositories)
        {
            var (ok, error) = await PostAsync(http, baseUrl, repository.Gun, repository.Boundary, repository.Init, cancellationToken);
            if (!ok)
            {
                throw new InvalidOperationException($"init of {repository.Gun} at {baseUrl} failed: {error}");
            }
        }
    }

    /// <summary>
    /// One sequential publisher per repository, all at once, until every update is sent or <paramref name="limit"/>
    /// has passed. Publishes/s = accepted updates / wall time.
    /// </summary>
    public static async Task<PublishResult> RunAsync(
        HttpClient http, string baseUrl, IReadOnlyList<PreparedRepository> repositories, TimeSpan limit, CancellationToken cancellationToken)
    {
        var latencies = new ConcurrentBag<double>();
        long accepted = 0, failed = 0;
        string? firstError = null;
        var stopwatch = Stopwatch.StartNew();
        await Task.WhenAll(repositories.Select(repository => Task.Run(
            async () =>
            {
                foreach (var body in repository.Updates)
                {
                    if (stopwatch.Elapsed >= limit)
                    {
                        break;
                    }

                    var started = Stopwatch.GetTimestamp();
                    var (ok, error) = await PostAsync(http, baseUrl, repository.Gun, repository.Boundary, body, cancellationToken);
                    latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    if (ok)
                    {
                        Interlocked.Increment(ref accepted);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                        Interlocked.CompareExchange(ref firstError, error, null);
                    }
                }
            },
            cancellationToken)));
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var sorted = latencies.Order().ToArray();
        return new PublishResult(
            repositories.Count, accepted, failed, seconds, accepted / seconds, Percentile(sorted, 0.50), Percentile(sorted, 0.99), firstError);
    }

    public static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>One upload (POST <c>/v2/&lt;gun&gt;/_trust/tuf/</c>); the error is the status and the start of the body.</summary>
    public static async Task<(bool Ok, string? Error)> PostAsync(
        HttpClient http, string baseUrl, string gun, string boundary, byte[] body, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=" + boundary);
        try
        {
            using var response = await http.PostAsync(new Uri($"{baseUrl}/v2/{gun}/_trust/tuf/"), content, cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return (true, null);
            }

            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            return (false, $"{(int)response.StatusCode}: {text[..Math.Min(text.Length, 300)]}");
        }
        catch (HttpRequestException ex)
        {
            return (false, ex.Message);
        }
    }

    // Go's mime/multipart layout: "--b\r\n" headers "\r\n\r\n" body, "\r\n--b\r\n" between parts, "\r\n--b--\r\n" at the end.
    public static byte[] Multipart(string boundary, IEnumerable<(string Role, byte[] Bytes)> parts)
    {
        using var stream = new MemoryStream();
        var first = true;
        foreach (var (role, bytes) in parts)
        {
            var header = (first ? string.Empty : "\r\n") + $"--{boundary}\r\n"
                + $"Content-Disposition: form-data; name=\"files\"; filename=\"{role}\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n";
            stream.Write(Encoding.ASCII.GetBytes(header));
            stream.Write(bytes);
            first = false;
        }

        stream.Write(Encoding.ASCII.GetBytes($"\r\n--{boundary}--\r\n"));
        return stream.ToArray();
    }

    private static byte[] Targets(TufSigningKey key, long version, DateTimeOffset now)
    {
        // One target whose content changes with every version, as `notary add app latest file -p` would do.
        var targets = new JsonObject()
            .Set("latest", FileMeta.Of(Encoding.UTF8.GetBytes($"benchmark payload version {version}\n")).ToJson());
        var body = new JsonObject()
            .Set("_type", new JsonString("Targets"))
            .Set("delegations", new JsonObject().Set("keys", new JsonObject()).Set("roles", new JsonArray()))
            .Set("expires", Expiry(now.AddYears(3)))
            .Set("targets", targets)
            .Set("version", new JsonNumber(version));
        return Sign(body, key);
    }

    private static byte[] Snapshot(TufSigningKey key, long version, DateTimeOffset now, byte[] root, byte[] targets)
    {
        var body = new JsonObject()
            .Set("_type", new JsonString("Snapshot"))
            .Set("expires", Expiry(now.AddYears(3)))
            .Set("meta", new JsonObject().Set("root", FileMeta.Of(root).ToJson()).Set("targets", FileMeta.Of(targets).ToJson()))
            .Set("version", new JsonNumber(version));
        return Sign(body, key);
    }

    public static byte[] Sign(JsonObject body, TufSigningKey key)
    {
        var canonical = CanonicalJson.Encode(body);
        return SignedEnvelope.Assemble(canonical, [new TufSignature(key.PublicKey.Id, key.Method, key.Sign(canonical))]);
    }

    private static JsonObject Role(TufPublicKey key) =>
        new JsonObject()
            .Set("keyids", new JsonArray([new JsonString(key.Id)]))
            .Set("threshold", new JsonNumber(1));

    private static JsonString Expiry(DateTimeOffset instant) => new(TufExpiry.FromInstant(instant).Text);
}
