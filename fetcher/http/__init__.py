"""HTTP: the client, its retry policy, authentication, deadlines and body decoding."""
