using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using TrustServer.Server.Options;

namespace TrustServer.Server.Hosting;

/// <summary>Tells whoever started the server where it listens and how to point the notary client at it.</summary>
internal static class ServerBanner
{
    public static void Print(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var url = addresses.FirstOrDefault() ?? TrustServerHost.DefaultUrl;
        var storage = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var signing = app.Services.GetRequiredService<IOptions<SigningOptions>>().Value;
        Console.WriteLine($"""
            TrustServer (Notary v1 API) listening on {string.Join(", ", addresses)}
              storage: {storage.Provider}; signing: {signing.Mode} ({signing.KeyAlgorithm} server keys)
            Point the notary client at it, e.g.:
              notary -s {url} -d ~/.notary-trustserver init example.com/my/repo --publish
              notary -s {url} -d ~/.notary-trustserver add example.com/my/repo v1 ./file --publish
              notary -s {url} -d ~/.notary-trustserver list example.com/my/repo
            """);
    }
}
