using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using JsonValueKind = System.Text.Json.JsonValueKind;
using TrustServer.Compat.Tests.Support;
using TrustServer.Server.Tests.Support;
using TrustServer.Testing;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Compat.Tests;

/// <summary>The trust queries against the real notary client on TrustServer over PostgreSQL.</summary>
public sealed class TrustQueryDifferentialOnPostgres(PostgresServerFixture fixture) : TrustQueryDifferentialTests(fixture.Instance), IClassFixture<PostgresServerFixture>;

/// <summary>
/// Differential tests of <c>/api/trust/v1</c>: repositories written by the real notary 0.7.0 client (and, where the
/// client cannot write them — expiries, thresholds above one — files crafted and signed with the client's own keys),
/// then <c>notary lookup</c> and <c>notary list [--roles …]</c> of a fresh client compared with the API's answers, and the
/// <c>verify</c> verdict of each case.
/// </summary>
public abstract class TrustQueryDifferentialTests(TrustServerInstance server) : IDisposable
{
    private readonly TemporaryDirectory _files = new("trust-query");

    [Fact]
    public async Task PlainTargets_ListLookupAndVerifyAgree()
    {
        var gun = NewGun("plain");
        using var client = server.NewClient();
        await client.RunCheckedAsync(["init", gun, "-p"]);
        var v1 = Payload("v1.txt", "version one\n");
        await client.RunCheckedAsync(["add", gun, "v1", v1, "-p"]);
        await client.RunCheckedAsync(["add", gun, "v2", Payload("v2.txt", "version two\n"), "-p"]);

        await AssertSameAsync(gun, ["v1", "v2"]);
        var signers = await GetNameAsync(gun, "v1");
        var entry = signers.GetProperty("signers")[0];
        Assert.Equal("targets", entry.GetProperty("role").GetString());
        Assert.Equal(Sha256Hex(v1), entry.GetProperty("digests").GetProperty("sha256").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA512.HashData(File.ReadAllBytes(v1))), entry.GetProperty("digests").GetProperty("sha512").GetString());
        Assert.Equal(1, entry.GetProperty("threshold").GetInt32());
        Assert.Single(entry.GetProperty("keyIds").EnumerateArray());

        var ok = await VerifyAsync(new { gun, name = "v1", digest = "sha256:" + Sha256Hex(v1) });
        Assert.True(ok.GetProperty("verified").GetBoolean(), ok.ToString());
        Assert.Equal(["targets"], Strings(ok.GetProperty("signedBy")));
        var mismatch = await VerifyAsync(new { gun, name = "v1", digest = "sha256:" + new string('0', 64) });
        Assert.Equal(["digest-mismatch"], Codes(mismatch));
        Assert.Equal(["unsigned"], Codes(await VerifyAsync(new { gun, name = "v9" })));

        // Root pinning: the root key ID `notary key list` prints (the canonical ID) passes; another key does not.
        var rootKeyId = RootKeyId(client);
        Assert.True((await VerifyAsync(new { gun, name = "v1", rootKeyIds = new[] { rootKeyId } })).GetProperty("verified").GetBoolean());
        var pinnedOther = await VerifyAsync(new { gun, name = "v1", rootKeyIds = new[] { new string('a', 64) } });
        Assert.False(pinnedOther.GetProperty("verified").GetBoolean());
        Assert.Equal(["root-not-pinned"], Codes(pinnedOther));

        var unknown = await server.Http.GetAsync($"/api/trust/v1/targets?gun={Uri.EscapeDataString(gun)}&name=nope");
        await AssertProblemAsync(unknown, HttpStatusCode.NotFound);
        await AssertProblemAsync(await server.Http.GetAsync($"/api/trust/v1/targets?gun={Uri.EscapeDataString(gun + "-none")}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task DockerTrustSigners_PathsOrderTwoDigestsAndARemovedSigner()
    {
        var gun = NewGun("docker");
        using var client = server.NewClient();
        await client.RunCheckedAsync(["init", gun, "-p"]);
        var (alicePem, alicePub) = NewKey("alice");
        var (bobPem, bobPub) = NewKey("bob");
        var (ciPem, ciPub) = NewKey("ci");
        await client.RunCheckedAsync(["key", "import", alicePem, "--role", "targets/alice"]);
        await client.RunCheckedAsync(["key", "import", bobPem, "--role", "targets/bob"]);
        await client.RunCheckedAsync(["key", "import", ciPem, "--role", "targets/ci"]);

        // bob's role first: it precedes releases in the targets file, so lookup prefers bob's digest of "shared".
        await client.RunCheckedAsync(["delegation", "add", gun, "targets/bob", bobPub, "--all-paths", "-p"]);
        await client.RunCheckedAsync(["delegation", "add", gun, "targets/releases", alicePub, "--all-paths", "-p"]);
        await client.RunCheckedAsync(["delegation", "add", gun, "targets/alice", alicePub, "--all-paths", "-p"]);
        await client.RunCheckedAsync(["delegation", "add", gun, "targets/ci", ciPub, "--paths", "ci/", "-p"]);

        var release = Payload("release.txt", "alice's release\n");
        var bobs = Payload("bob.txt", "bob's build\n");
        var ci = Payload("ci.txt", "ci build\n");
        var top = Payload("top.txt", "top-level\n");
        // As docker trust sign writes a tag: into targets/releases and the signer's own role.
        await client.RunCheckedAsync(["add", gun, "v1", release, "--roles", "targets/releases", "--roles", "targets/alice", "-p"]);
        await client.RunCheckedAsync(["add", gun, "shared", release, "--roles", "targets/releases", "--roles", "targets/alice", "-p"]);
        await client.RunCheckedAsync(["add", gun, "shared", bobs, "--roles", "targets/bob", "-p"]);
        await client.RunCheckedAsync(["add", gun, "ci/build", ci, "--roles", "targets/ci", "-p"]);
        await client.RunCheckedAsync(["add", gun, "ci/build", top, "-p"]);

        string[] names = ["v1", "shared", "ci/build"];
        await AssertSameAsync(gun, names, ["targets/releases", "targets/alice", "targets/bob", "targets/ci"]);
        var shared = await GetNameAsync(gun, "shared");
        Assert.Equal("targets/bob", shared.GetProperty("lookup").GetProperty("role").GetString());
        Assert.Equal(["targets/bob", "targets/releases", "targets/alice"], shared.GetProperty("signers").EnumerateArray().Select(s => s.GetProperty("role").GetString()));
        Assert.Equal(["ci/"], Strings((await GetNameAsync(gun, "ci/build")).GetProperty("signers")[1].GetProperty("paths")));

        // The policy of the README: signed by targets/releases and targets/alice at the digest.
        var policy = new { gun, name = "shared", digest = "sha256:" + Sha256Hex(release), requiredRoles = new[] { "targets/releases", "targets/alice" } };
        var verdict = await VerifyAsync(policy);
        Assert.True(verdict.GetProperty("verified").GetBoolean(), verdict.ToString());
        Assert.Equal(["targets/releases", "targets/alice"], Strings(verdict.GetProperty("signedBy")));
        var atBobs = await VerifyAsync(new { gun, name = "shared", digest = "sha256:" + Sha256Hex(bobs), requiredRoles = new[] { "targets/releases", "targets/alice" } });
        Assert.Equal(["required-signer-missing", "required-signer-missing"], Codes(atBobs));
        Assert.Equal(["targets/bob"], Strings(atBobs.GetProperty("signedBy")));
        Assert.Equal(["threshold-not-met"], Codes(await VerifyAsync(new { gun, name = "shared", digest = "sha256:" + Sha256Hex(release), threshold = 3 })));
        Assert.True((await VerifyAsync(new { gun, name = "shared", digest = "sha256:" + Sha256Hex(release), threshold = 2 })).GetProperty("verified").GetBoolean());
        var implicitDigest = await VerifyAsync(new { gun, name = "shared" });
        Assert.Equal("sha256:" + Sha256Hex(bobs), implicitDigest.GetProperty("digest").GetString()); // what notary lookup picks

        // A removed signer: bob's delegation goes, and with it bob's entry.
        await client.RunCheckedAsync(["delegation", "remove", gun, "targets/bob", "-y", "-p"]);
        await AssertSameAsync(gun, names, ["targets/releases", "targets/bob"]);
        var after = await GetNameAsync(gun, "shared");
        Assert.Equal("targets/releases", after.GetProperty("lookup").GetProperty("role").GetString());
        var bobRequired = await VerifyAsync(new { gun, name = "shared", requiredRoles = new[] { "targets/bob" } });
        Assert.Equal(["required-signer-missing"], Codes(bobRequired));
        Assert.True((await VerifyAsync(policy)).GetProperty("verified").GetBoolean());
    }

    [Fact]
    public async Task CraftedThresholdTwoAndAnExpiredDelegation()
    {
        var gun = NewGun("crafted");
        using var client = await ServerSnapshotRepositoryAsync(gun);
        using var targetsKey = TargetsKey(client, gun);
        using var k1 = TufSigningKey.Generate(KeyType.Ecdsa);
        using var k2 = TufSigningKey.Generate(KeyType.Ecdsa);
        using var k3 = TufSigningKey.Generate(KeyType.Ecdsa);
        var expires = DateTimeOffset.UtcNow.AddSeconds(6);

        // targets v2 delegates targets/expiring (k3, listed first) and targets/quorum (k1+k2, threshold 2); both sign q1.
        var targets = await CurrentBodyAsync(gun, "targets");
        targets.Set("version", new JsonNumber(NextVersion(targets)));
        targets.Set("delegations", new JsonObject()
            .Set("keys", new JsonObject().Set(k1.PublicKey.Id, k1.PublicKey.ToJson()).Set(k2.PublicKey.Id, k2.PublicKey.ToJson()).Set(k3.PublicKey.Id, k3.PublicKey.ToJson()))
            .Set("roles", new JsonArray([
                DelegationEntry("targets/expiring", 1, k3),
                DelegationEntry("targets/quorum", 2, k1, k2),
            ])));
        var q1Quorum = Encoding.UTF8.GetBytes("q1 by the quorum\n");
        var q1Expiring = Encoding.UTF8.GetBytes("q1 by the expiring role\n");
        var quorum = Sign(DelegationBody(DateTimeOffset.UtcNow.AddYears(1), ("q1", q1Quorum)), k1, k2);
        var expiring = Sign(DelegationBody(expires, ("q1", q1Expiring), ("e1", q1Expiring)), k3);
        var upload = await server.Http.PostAsync($"/v2/{gun}/_trust/tuf/", NotaryHttp.Upload(
            ("targets", Sign(targets, targetsKey)), ("targets/quorum", quorum), ("targets/expiring", expiring)));
        Assert.True(upload.IsSuccessStatusCode, await upload.Content.ReadAsStringAsync());

        // Before the expiry the expiring role is first in walk order.
        Assert.Equal("targets/expiring", (await GetNameAsync(gun, "q1")).GetProperty("lookup").GetProperty("role").GetString());
        await WaitUntilAsync(expires);

        await AssertSameAsync(gun, ["q1", "e1"], ["targets/quorum", "targets/expiring"]);
        var q1 = await GetNameAsync(gun, "q1");
        Assert.Equal("targets/quorum", q1.GetProperty("lookup").GetProperty("role").GetString());
        var quorumEntry = q1.GetProperty("signers").EnumerateArray().Single(s => s.GetProperty("role").GetString() == "targets/quorum");
        Assert.Equal(2, quorumEntry.GetProperty("threshold").GetInt32());
        Assert.Equal([k1.PublicKey.Id, k2.PublicKey.Id], Strings(quorumEntry.GetProperty("keyIds")));
        var expiredEntry = q1.GetProperty("signers").EnumerateArray().Single(s => s.GetProperty("role").GetString() == "targets/expiring");
        Assert.False(expiredEntry.GetProperty("trusted").GetBoolean());
        Assert.Equal("role-expired", expiredEntry.GetProperty("excluded").GetProperty("code").GetString());

        var e1 = await GetNameAsync(gun, "e1");
        Assert.Equal(JsonValueKind.Null, e1.GetProperty("lookup").ValueKind);
        var e1Verdict = await VerifyAsync(new { gun, name = "e1" });
        Assert.Equal(["role-expired", "unsigned"], Codes(e1Verdict));
        var q1Verdict = await VerifyAsync(new { gun, name = "q1", requiredRoles = new[] { "targets/quorum" } });
        Assert.True(q1Verdict.GetProperty("verified").GetBoolean(), q1Verdict.ToString());
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(q1Quorum)), q1Verdict.GetProperty("digest").GetString());
        var expiredRequired = await VerifyAsync(new { gun, name = "q1", requiredRoles = new[] { "targets/expiring" } });
        Assert.Contains("required-signer-missing", Codes(expiredRequired));
        Assert.Contains("role-expired", Codes(expiredRequired));
    }

    [Fact]
    public async Task CraftedExpiredTargetsRole_NothingIsTrusted()
    {
        var gun = NewGun("expired-targets");
        using var client = await ServerSnapshotRepositoryAsync(gun);
        using var targetsKey = TargetsKey(client, gun);
        var expires = DateTimeOffset.UtcNow.AddSeconds(5);
        var targets = await CurrentBodyAsync(gun, "targets");
        targets.Set("version", new JsonNumber(NextVersion(targets)));
        targets.Set("expires", new JsonString(TufExpiry.FromInstant(expires).Text));
        var upload = await server.Http.PostAsync($"/v2/{gun}/_trust/tuf/", NotaryHttp.Upload(("targets", Sign(targets, targetsKey))));
        Assert.True(upload.IsSuccessStatusCode, await upload.Content.ReadAsStringAsync());
        Assert.True((await VerifyAsync(new { gun, name = "v1" })).GetProperty("verified").GetBoolean());
        await WaitUntilAsync(expires);

        using var reader = server.NewClient();
        var lookup = await reader.RunAsync(["lookup", gun, "v1"]);
        Assert.False(lookup.Succeeded, lookup.ToString());
        Assert.False((await reader.RunAsync(["list", gun])).Succeeded);
        var v1 = await GetNameAsync(gun, "v1");
        Assert.Equal(JsonValueKind.Null, v1.GetProperty("lookup").ValueKind);
        Assert.Equal("role-expired", v1.GetProperty("untrusted").GetProperty("code").GetString());
        Assert.Equal("targets", v1.GetProperty("untrusted").GetProperty("role").GetString());
        var verdict = await VerifyAsync(new { gun, name = "v1" });
        Assert.False(verdict.GetProperty("verified").GetBoolean());
        Assert.Equal(["role-expired"], Codes(verdict));
    }

    [Fact]
    public async Task BadRequests_AreProblemDetails()
    {
        var gun = NewGun("bad");
        await AssertProblemAsync(await server.Http.GetAsync("/api/trust/v1/targets"), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.GetAsync($"/api/trust/v1/targets?gun={gun}&pageSize=501"), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.GetAsync($"/api/trust/v1/targets?gun={gun}&page=0"), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.GetAsync($"/api/trust/v1/targets?gun={gun}&page=x"), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.GetAsync($"/api/trust/v1/targets?gun={new string('g', 256)}"), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsync("/api/trust/v1/verify", new StringContent("{\"gun\":", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsync("/api/trust/v1/verify", new StringContent("[]", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsync("/api/trust/v1/verify", new StringContent("null", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsJsonAsync("/api/trust/v1/verify", new { gun }), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsJsonAsync("/api/trust/v1/verify", new { gun, name = "v1", digest = "sha256:ABC" }), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsJsonAsync("/api/trust/v1/verify", new { gun, name = "v1", digest = "md5:" + new string('a', 32) }), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsJsonAsync("/api/trust/v1/verify", new { gun, name = "v1", threshold = 0 }), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsJsonAsync("/api/trust/v1/verify", new { gun, name = "v1", requiredRoles = new[] { "releases" } }), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsJsonAsync("/api/trust/v1/verify", new { gun, name = "v1", rootKeyIds = new[] { "xyz" } }), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await server.Http.PostAsJsonAsync("/api/trust/v1/verify", new { gun, name = "v1" }), HttpStatusCode.NotFound);
        var huge = new StringContent("{\"gun\":\"" + new string('a', 70_000) + "\"}", Encoding.UTF8, "application/json");
        await AssertProblemAsync(await server.Http.PostAsync("/api/trust/v1/verify", huge), HttpStatusCode.RequestEntityTooLarge);
    }

    public void Dispose()
    {
        _files.Dispose();
        GC.SuppressFinalize(this);
    }

    // A fresh notary client's `list` (and `list --roles R` for each role) and `lookup` of each name against the API.
    private async Task AssertSameAsync(string gun, string[] names, string[]? roles = null)
    {
        using var reader = server.NewClient();
        var page = await GetJsonAsync($"/api/trust/v1/targets?gun={Uri.EscapeDataString(gun)}&pageSize=500");
        var items = page.GetProperty("items").EnumerateArray().ToList();
        var fromApi = items.Where(i => i.GetProperty("lookup").ValueKind != JsonValueKind.Null)
            .Select(i => Row(i.GetProperty("name").GetString()!, i.GetProperty("lookup"))).Order().ToList();
        Assert.Equal(ListRows((await reader.RunCheckedAsync(["list", gun])).StandardOutput), fromApi);
        Assert.Superset(names.ToHashSet(), items.Select(i => i.GetProperty("name").GetString()!).ToHashSet());

        foreach (var role in roles ?? [])
        {
            var within = items.Select(i => (Name: i.GetProperty("name").GetString()!, Pick: i.GetProperty("signers").EnumerateArray().FirstOrDefault(s =>
                    s.GetProperty("trusted").GetBoolean() && (s.GetProperty("role").GetString() == role || s.GetProperty("role").GetString()!.StartsWith(role + "/", StringComparison.Ordinal)))))
                .Where(p => p.Pick.ValueKind != JsonValueKind.Undefined).Select(p => Row(p.Name, p.Pick)).Order().ToList();
            var listed = await reader.RunAsync(["list", gun, "--roles", role]);
            Assert.Equal(listed.Succeeded ? ListRows(listed.StandardOutput) : [], within);
        }

        foreach (var name in names)
        {
            var lookup = await reader.RunAsync(["lookup", gun, name]);
            var api = await server.Http.GetAsync($"/api/trust/v1/targets?gun={Uri.EscapeDataString(gun)}&name={Uri.EscapeDataString(name)}");
            var pick = api.IsSuccessStatusCode ? (await api.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("lookup") : default;
            if (pick.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
            {
                Assert.False(lookup.Succeeded, $"notary found {name}, the API did not: {lookup}");
            }
            else
            {
                Assert.True(lookup.Succeeded, lookup.ToString());
                var digest = pick.GetProperty("digests").GetProperty("sha256").GetString();
                Assert.Equal($"{name} sha256:{digest} {pick.GetProperty("length").GetInt64()}", lookup.StandardOutput.Trim());
            }
        }
    }

    private static string Row(string name, JsonElement entry) =>
        $"{name} {entry.GetProperty("digests").GetProperty("sha256").GetString()} {entry.GetProperty("length").GetInt64()} {entry.GetProperty("role").GetString()}";

    // `notary list` prints a header, a dashes line, then NAME DIGEST SIZE ROLE rows.
    private static List<string> ListRows(string output) =>
        [.. output.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)).Where(f => f.Length == 4 && f[1].Length == 64 && f[1].All(char.IsAsciiHexDigitLower))
            .Select(f => string.Join(' ', f)).Order()];

    private async Task<JsonElement> GetNameAsync(string gun, string name) =>
        await GetJsonAsync($"/api/trust/v1/targets?gun={Uri.EscapeDataString(gun)}&name={Uri.EscapeDataString(name)}");

    private async Task<JsonElement> GetJsonAsync(string url)
    {
        var response = await server.Http.GetAsync(url);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private async Task<JsonElement> VerifyAsync(object body)
    {
        var response = await server.Http.PostAsJsonAsync("/api/trust/v1/verify", body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    internal static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        Assert.Equal((int)status, problem.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("title").GetString()));
    }

    private static string[] Codes(JsonElement verdict) => [.. verdict.GetProperty("reasons").EnumerateArray().Select(r => r.GetProperty("code").GetString()!)];

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    // init, the snapshot key handed to the server, v1 published: crafted targets files then need no client snapshot.
    private async Task<NotaryCli> ServerSnapshotRepositoryAsync(string gun)
    {
        var client = server.NewClient();
        await client.RunCheckedAsync(["init", gun]);
        await client.RunCheckedAsync(["key", "rotate", gun, "snapshot", "-r"]);
        await client.RunCheckedAsync(["add", gun, "v1", Payload("v1.txt", "v1\n")]);
        await client.RunCheckedAsync(["publish", gun]);
        return client;
    }

    private async Task<JsonObject> CurrentBodyAsync(string gun, string role)
    {
        var bytes = await server.Http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/{role}.json");
        return (JsonObject)((JsonObject)JsonParser.Parse(bytes))["signed"]!;
    }

    private static long NextVersion(JsonObject body) => ((JsonNumber)body["version"]!).TryGetInt64(out var version) ? version + 1 : throw new InvalidOperationException("no version");

    private static JsonObject DelegationEntry(string name, long threshold, params TufSigningKey[] keys) => new JsonObject()
        .Set("keyids", new JsonArray([.. keys.Select(k => (JsonValue)new JsonString(k.PublicKey.Id))]))
        .Set("name", new JsonString(name))
        .Set("paths", new JsonArray([new JsonString("")]))
        .Set("threshold", new JsonNumber(threshold));

    private static JsonObject DelegationBody(DateTimeOffset expires, params (string Name, byte[] Content)[] targets)
    {
        var entries = new JsonObject();
        foreach (var (name, content) in targets)
        {
            entries.Set(name, FileMeta.Of(content).ToJson());
        }

        return new JsonObject()
            .Set("_type", new JsonString("Targets"))
            .Set("delegations", new JsonObject().Set("keys", new JsonObject()).Set("roles", new JsonArray([])))
            .Set("expires", new JsonString(TufExpiry.FromInstant(expires).Text))
            .Set("targets", entries)
            .Set("version", new JsonNumber(1));
    }

    private static byte[] Sign(JsonObject body, params TufSigningKey[] keys)
    {
        var canonical = CanonicalJson.Encode(body);
        return SignedEnvelope.Assemble(canonical, keys.Select(k => new TufSignature(k.PublicKey.Id, k.Method, k.Sign(canonical))));
    }

    // The repository's targets key from the client's trust directory: notary's encrypted PKCS#8 PEM with role/gun headers.
    private static TufSigningKey TargetsKey(NotaryCli client, string gun)
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(client.TrustDirectory, "private"), "*.key", SearchOption.AllDirectories))
        {
            var lines = File.ReadAllLines(file);
            if (!lines.Contains("role: targets") || !lines.Contains($"gun: {gun}"))
            {
                continue;
            }

            var der = Convert.FromBase64String(string.Concat(lines.Where(l => !l.StartsWith("-----", StringComparison.Ordinal) && !l.Contains(':') && l.Length > 0)));
            using var ecdsa = ECDsa.Create();
            ecdsa.ImportEncryptedPkcs8PrivateKey(NotaryCli.DefaultPassphrase, der, out _);
            return TufSigningKey.ImportPkcs8(KeyType.Ecdsa, ecdsa.ExportPkcs8PrivateKey());
        }

        throw new InvalidOperationException($"no targets key of {gun} in {client.TrustDirectory}");
    }

    // The root key ID as `notary key list` prints it.
    private static string RootKeyId(NotaryCli client)
    {
        foreach (var file in Directory.EnumerateFiles(Path.Combine(client.TrustDirectory, "private"), "*.key", SearchOption.AllDirectories))
        {
            if (File.ReadAllLines(file).Contains("role: root"))
            {
                return Path.GetFileNameWithoutExtension(file);
            }
        }

        throw new InvalidOperationException("no root key");
    }

    private static async Task WaitUntilAsync(DateTimeOffset instant)
    {
        var wait = instant - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }

    private (string Private, string Public) NewKey(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (Write(name + ".pem", key.ExportPkcs8PrivateKeyPem() + "\n"), Write(name + ".pub", key.ExportSubjectPublicKeyInfoPem() + "\n"));
    }

    private static string NewGun(string name) => $"example.com/trust/{name}-{Guid.NewGuid():N}"[..48];

    private string Payload(string name, string content) => Write(name, content);

    private string Write(string name, string content)
    {
        var path = _files.Combine(name);
        File.WriteAllText(path, content);
        return path;
    }

    private static string Sha256Hex(string path) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
}
