// TrustServer API host: a Notary v1 server. `migrate` applies database migrations and exits.
return await TrustServer.Server.TrustServerHost.RunAsync(args);
