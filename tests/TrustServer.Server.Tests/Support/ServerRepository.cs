using TrustServer.Tuf.Json;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Tests.Support;

namespace TrustServer.Server.Tests.Support;

/// <summary>
/// A client-side repository published to a running server over HTTP: client root, targets and snapshot keys (the
/// TUF core tests' <see cref="TestRepository"/>), and a root that names the timestamp key the server handed out.
/// </summary>
internal sealed class ServerRepository : IDisposable
{
    private readonly HttpClient _http;

    private ServerRepository(HttpClient http, TestRepository keys, IMetadataSigner serverTimestampKey)
        : this(http, keys, TestRepository.Sign(keys.RootBody().WithRole("timestamp", 1, serverTimestampKey), keys.RootSigner))
    {
    }

    private ServerRepository(HttpClient http, TestRepository keys, byte[] root)
    {
        _http = http;
        Keys = keys;
        Root = root;
    }

    /// <summary>The client keys and metadata builders.</summary>
    public TestRepository Keys { get; }

    /// <summary>The repository's GUN.</summary>
    public string Gun => Keys.Gun;

    /// <summary>Root version 1, naming the server's timestamp key.</summary>
    public byte[] Root { get; }

    /// <summary>The URL prefix of the repository's TUF routes.</summary>
    public string TufUrl => $"/v2/{Gun}/_trust/tuf/";

    /// <summary>Asks the server for the timestamp key of <paramref name="gun"/> (created on first request).</summary>
    public static async Task<ServerRepository> CreateAsync(HttpClient http, string gun)
    {
        var json = await http.GetByteArrayAsync($"/v2/{gun}/_trust/tuf/timestamp.key");
        var serverKey = TufPublicKey.FromJson(JsonParser.Parse(json), "timestamp.key");
        var keys = new TestRepository(gun);
        // The root lists the server's public key; the client never signs with it.
        return new ServerRepository(http, keys, new RekeyedSigner(keys.TimestampKey, serverKey));
    }

    /// <summary>The same repository and keys, published through another server (a second replica); disposing it disposes the keys too.</summary>
    public ServerRepository Via(HttpClient http) => new(http, Keys, Root);

    /// <summary>Targets at <paramref name="version"/> with these target names.</summary>
    public byte[] Targets(long version, params string[] names) => Keys.Targets(version, names);

    /// <summary>A snapshot at <paramref name="version"/> describing <see cref="Root"/> and these targets bytes.</summary>
    public byte[] Snapshot(long version, byte[] targets) => Keys.Snapshot(version, ("root", Root), ("targets", targets));

    /// <summary>Posts the files as one update.</summary>
    public Task<HttpResponseMessage> PublishAsync(params (string Role, byte[] Data)[] files) => _http.PostAsync(TufUrl, NotaryHttp.Upload(files));

    /// <summary>`notary init --publish`: root, targets v1 and snapshot v1; returns the targets published.</summary>
    public async Task<byte[]> InitializeAsync()
    {
        var targets = Targets(1);
        var response = await PublishAsync(("root", Root), ("targets", targets), ("snapshot", Snapshot(1, targets)));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return targets;
    }

    /// <summary>GET of a file under the repository's TUF routes.</summary>
    public Task<HttpResponseMessage> GetAsync(string file) => _http.GetAsync(TufUrl + file);

    public void Dispose() => Keys.Dispose();
}
