// Placeholder host: the Notary API lands with the server issue. Until then `dotnet run` says so and exits
// with a non-zero code so that no script mistakes it for a running server.
Console.Error.WriteLine("TrustServer: the Notary API server is not implemented yet (see the server issue).");
Console.Error.WriteLine("Only the TUF core library (src/TrustServer.Tuf) and its tests exist in this build.");
return 2;
