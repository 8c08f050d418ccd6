using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using TrustServer.Signer.Hosting;

namespace TrustServer.Signer.Tests.Support;

/// <summary>Our signer running in-process on a free loopback port.</summary>
public sealed class SignerInstance : IAsyncDisposable
{
    private readonly WebApplication _app;

    private SignerInstance(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>e.g. <c>https://127.0.0.1:40123</c>.</summary>
    public string Url { get; }

    public int Port => new Uri(Url).Port;

    public IServiceProvider Services => _app.Services;

    public static async Task<SignerInstance> StartAsync(
        IEnumerable<KeyValuePair<string, string?>> settings, string scheme = "https", Action<IServiceCollection>? services = null)
    {
        List<KeyValuePair<string, string?>> all = [new("Logging:LogLevel:Default", "Warning"), .. settings];
        var app = SignerHost.Build(["--urls", $"{scheme}://127.0.0.1:0"], all, services);
        try
        {
            await app.PrepareKeyDatabaseAsync(CancellationToken.None);
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new SignerInstance(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
