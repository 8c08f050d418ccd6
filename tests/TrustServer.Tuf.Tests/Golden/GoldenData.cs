using System.Text.Json;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Golden;

/// <summary>One metadata file of the golden set: the role it belongs to and where it lies under <c>TestData/golden</c>.</summary>
public sealed record GoldenFile(string Scenario, string Role, string Path)
{
    /// <summary>The exact bytes.</summary>
    public byte[] Read() => File.ReadAllBytes(GoldenData.Resolve(Path));

    /// <summary>The parsed envelope.</summary>
    public SignedEnvelope Envelope() => SignedEnvelope.Parse(Read());

    /// <inheritdoc/>
    public override string ToString() => Path;
}

/// <summary>One POST of a step: the uploaded parts in multipart order and the HTTP status the real server answered.</summary>
public sealed record GoldenUpload(IReadOnlyList<GoldenFile> Files, int ResponseStatus, string ResponseBody);

/// <summary>A file the real server stored during a step; <c>FromServer</c> when the server generated it.</summary>
public sealed record GoldenStored(GoldenFile File, long Version, bool FromServer);

/// <summary>One step of a scenario (spec of the layout: TestData/golden/README.md).</summary>
public sealed record GoldenStep(string Directory, bool ExpectSuccess, IReadOnlyList<GoldenUpload> Uploads, IReadOnlyList<GoldenStored> ServerNew)
{
    /// <inheritdoc/>
    public override string ToString() => Directory;
}

/// <summary>A repository built with the real notary 0.7.0 client against the real notary-server.</summary>
public sealed record GoldenScenario(string Name, string Gun, IReadOnlyList<GoldenStep> Steps, IReadOnlyDictionary<string, string> CanonicalRootKeyIds)
{
    /// <summary>Every distinct metadata file of the scenario (uploads and stored files).</summary>
    public IEnumerable<GoldenFile> AllFiles =>
        Steps.SelectMany(s => s.Uploads.SelectMany(u => u.Files).Concat(s.ServerNew.Select(n => n.File))).DistinctBy(f => f.Path);

    /// <summary>Every distinct file the real server accepted or stored (failed steps upload deliberately broken files).</summary>
    public IEnumerable<GoldenFile> AcceptedFiles =>
        Steps.Where(s => s.ExpectSuccess).SelectMany(s => s.Uploads.SelectMany(u => u.Files).Concat(s.ServerNew.Select(n => n.File))).DistinctBy(f => f.Path);

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>Reads <c>TestData/golden/manifest.json</c>, written by <c>generate.sh</c>.</summary>
public static class GoldenData
{
    private static readonly Lazy<(DateTimeOffset GeneratedAt, IReadOnlyList<GoldenScenario> Scenarios)> Manifest = new(Load);

    /// <summary>When the data was generated: tests pin their clock here (server timestamps live 14 days).</summary>
    public static DateTimeOffset GeneratedAt => Manifest.Value.GeneratedAt;

    /// <summary>All scenarios.</summary>
    public static IReadOnlyList<GoldenScenario> Scenarios => Manifest.Value.Scenarios;

    /// <summary>The scenario names, for theories.</summary>
    public static TheoryData<string> ScenarioNames => [.. Scenarios.Select(s => s.Name)];

    /// <summary>Every metadata file of every scenario, for theories.</summary>
    public static TheoryData<string> FilePaths => [.. Scenarios.SelectMany(s => s.AllFiles).Select(f => f.Path)];

    /// <summary>Every file the real server accepted or stored, for theories.</summary>
    public static TheoryData<string> AcceptedFilePaths => [.. Scenarios.SelectMany(s => s.AcceptedFiles).Select(f => f.Path)];

    /// <summary>A scenario by name.</summary>
    public static GoldenScenario Scenario(string name) => Scenarios.Single(s => s.Name == name);

    /// <summary>A file by its path under the golden directory.</summary>
    public static GoldenFile FileAt(string path) => Scenarios.SelectMany(s => s.AllFiles).First(f => f.Path == path);

    /// <summary>The absolute path of a file under the golden directory.</summary>
    public static string Resolve(string path) => System.IO.Path.Combine(AppContext.BaseDirectory, "TestData", "golden", path);

    /// <summary>
    /// The bytes Go's encoding/json writes for a canonical body: the same, except that &lt; &gt; &amp; U+2028 and
    /// U+2029 inside strings are written as \u escapes (they never occur outside strings).
    /// </summary>
    public static byte[] GoHtmlEscape(byte[] canonical)
    {
        var text = System.Text.Encoding.UTF8.GetString(canonical);
        var escaped = text
            .Replace("<", "\\u003c", StringComparison.Ordinal)
            .Replace(">", "\\u003e", StringComparison.Ordinal)
            .Replace("&", "\\u0026", StringComparison.Ordinal)
            .Replace("\u2028", "\\u2028", StringComparison.Ordinal)
            .Replace("\u2029", "\\u2029", StringComparison.Ordinal);
        return System.Text.Encoding.UTF8.GetBytes(escaped);
    }

    /// <summary>The typed metadata of a file, parsed as its role.</summary>
    public static RoleMetadata Typed(GoldenFile file)
    {
        var envelope = file.Envelope();
        return file.Role switch
        {
            RoleName.Root => RootMetadata.FromEnvelope(envelope),
            RoleName.Snapshot => MetaListMetadata.SnapshotFromEnvelope(envelope),
            RoleName.Timestamp => MetaListMetadata.TimestampFromEnvelope(envelope),
            _ => TargetsMetadata.FromEnvelope(envelope, file.Role),
        };
    }

    /// <summary>A copy of a <c>signed</c> body without its <c>expires</c> member.</summary>
    public static JsonObject WithoutExpiry(JsonObject body)
    {
        var copy = new JsonObject();
        foreach (var (name, value) in body.Members.Where(m => m.Key != "expires"))
        {
            copy.Set(name, value);
        }

        return copy;
    }

    private static (DateTimeOffset, IReadOnlyList<GoldenScenario>) Load()
    {
        using var manifest = JsonDocument.Parse(File.ReadAllBytes(Resolve("manifest.json")));
        var root = manifest.RootElement;
        Assert.Equal(1, root.GetProperty("schema_version").GetInt32());
        var generatedAt = DateTimeOffset.Parse(root.GetProperty("generated_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var scenarios = root.GetProperty("scenarios").EnumerateArray().Select(LoadScenario).ToList();
        return (generatedAt, scenarios);
    }

    private static GoldenScenario LoadScenario(JsonElement scenario)
    {
        var name = scenario.GetProperty("name").GetString()!;
        GoldenFile FileOf(JsonElement file) => new(name, file.GetProperty("role").GetString()!, file.GetProperty("path").GetString()!);

        var steps = scenario.GetProperty("steps").EnumerateArray().Select(step => new GoldenStep(
            step.GetProperty("dir").GetString()!,
            step.GetProperty("expect").GetString() switch
            {
                "success" => true,
                "failure" => false,
                var other => throw new InvalidDataException($"unknown expect value {other}"),
            },
            [.. step.GetProperty("uploads").EnumerateArray().Select(upload => new GoldenUpload(
                [.. upload.GetProperty("files").EnumerateArray().Select(FileOf)],
                upload.GetProperty("response_status").GetInt32(),
                upload.GetProperty("response_body").GetString()!))],
            [.. step.GetProperty("server_new").EnumerateArray().Select(stored => new GoldenStored(
                FileOf(stored),
                stored.GetProperty("version").GetInt64(),
                stored.GetProperty("source").GetString() == "server"))])).ToList();

        // notary key list: the canonical (SPKI) ID of every x509 key, by the ID it has in the metadata.
        using var keys = JsonDocument.Parse(File.ReadAllBytes(Resolve(System.IO.Path.Combine(name, "client-public-keys.json"))));
        var canonicalIds = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in keys.RootElement.GetProperty("keys").EnumerateArray())
        {
            foreach (var metadataKey in key.GetProperty("metadata_keys").EnumerateArray())
            {
                canonicalIds[metadataKey.GetProperty("key_id").GetString()!] = key.GetProperty("canonical_key_id").GetString()!;
            }
        }

        return new GoldenScenario(name, scenario.GetProperty("gun").GetString()!, steps, canonicalIds);
    }
}
