import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import App from './App';
import { StreamProvider } from './streamContext';
import './index.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <StreamProvider>
        <App />
      </StreamProvider>
    </BrowserRouter>
  </StrictMode>,
);
